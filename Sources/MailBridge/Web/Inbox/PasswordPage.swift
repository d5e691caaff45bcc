// Security: the own-password form. It echoes nothing the user typed (password fields are always empty); errors are
// fixed texts.

extension InboxPages {
    /// The own-password form; `forced`: the account's password was set by an administrator and must be replaced.
    static func passwordChange(_ chrome: PageChrome, forced: Bool, error: String? = nil) -> HTML {
        let strings = chrome.strings
        let described: HTML = error == nil ? "" : " aria-describedby=\"form-error\" aria-invalid=\"true\""
        let errorHTML: HTML = error.map { "<p id=\"form-error\" role=\"alert\">\($0)</p>" } ?? ""
        let main: HTML = """
            <h1>\(strings.passwordHeading)</h1>
            <p>\(forced ? strings.passwordForcedIntro : strings.passwordIntro)</p>
            \(errorHTML)
            <form method="post" action="\(WebAuthNames.passwordPath)">\(chrome.csrfField)
            <input type="text" name="username" autocomplete="username" value="\(chrome.counsellor.username)" \
            hidden readonly>
            <p><label for="current">\(strings.currentPassword)</label>
            <input id="current" name="\(WebAuthNames.currentPasswordField)" type="password" \
            autocomplete="current-password" required maxlength="200"\(described)></p>
            <p><label for="new">\(strings.newPassword)</label>
            <input id="new" name="\(WebAuthNames.newPasswordField)" type="password" autocomplete="new-password" \
            required minlength="\(PasswordPolicy.minimumCharacters)" maxlength="200"\(described)></p>
            <p><label for="repeat">\(strings.repeatPassword)</label>
            <input id="repeat" name="\(WebAuthNames.repeatPasswordField)" type="password" \
            autocomplete="new-password" required minlength="\(PasswordPolicy.minimumCharacters)" \
            maxlength="200"\(described)></p>
            <p><button type="submit">\(strings.savePassword)</button></p>
            </form>
            """
        return layout(chrome, title: strings.passwordHeading, main: main)
    }
}
