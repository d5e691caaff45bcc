// Security: the own-password form. It echoes nothing the user typed (password fields are always empty); errors are
// fixed texts.

import ThreadStore

extension InboxPages {
    /// The own-password form; `forced`: the account's password was set by an administrator and must be replaced.
    /// Laid out as the login pages are (one narrow card, labels above full-width fields), with the rules stated
    /// before the fields and tied to them (`aria-describedby`), and an error styled as the login forms' errors
    /// (issue 22).
    static func passwordChange(_ chrome: PageChrome, forced: Bool, error: String? = nil) -> HTML {
        let strings = chrome.strings
        let described: HTML = error == nil
            ? " aria-describedby=\"password-rules\""
            : " aria-describedby=\"form-error password-rules\" aria-invalid=\"true\""
        let errorHTML: HTML = error.map { "<p id=\"form-error\" class=\"form-error\" role=\"alert\">\($0)</p>" } ?? ""
        let rules = strings.passwordRules.map { rule -> HTML in "<li>\(rule)</li>" }
        let main: HTML = """
            <div class="auth-card">
            <h1>\(strings.passwordHeading)</h1>
            <p>\(forced ? strings.passwordForcedIntro : strings.passwordIntro)</p>
            <div class="rules"><p id="password-rules-heading">\(strings.passwordRulesHeading)</p>
            <ul id="password-rules" aria-labelledby="password-rules-heading">\(rules)</ul></div>
            \(errorHTML)
            <form method="post" action="\(WebAuthNames.passwordPath)" class="auth-form">\(chrome.csrfField)
            <input type="text" name="username" autocomplete="username" value="\(chrome.counsellor.username)" \
            hidden readonly>
            <p><label for="current">\(strings.currentPassword)</label>
            <input id="current" name="\(WebAuthNames.currentPasswordField)" type="password" \
            autocomplete="current-password" required maxlength="200"\(error == nil ? HTML.empty : described)></p>
            <p><label for="new">\(strings.newPassword)</label>
            <input id="new" name="\(WebAuthNames.newPasswordField)" type="password" autocomplete="new-password" \
            required minlength="\(PasswordPolicy.minimumCharacters)" maxlength="200"\(described)></p>
            <p><label for="repeat">\(strings.repeatPassword)</label>
            <input id="repeat" name="\(WebAuthNames.repeatPasswordField)" type="password" \
            autocomplete="new-password" required minlength="\(PasswordPolicy.minimumCharacters)" \
            maxlength="200"\(described)></p>
            <p><button type="submit">\(strings.savePassword)</button></p>
            </form>
            </div>
            """
        return layout(chrome, title: strings.passwordHeading, main: main)
    }
}

extension InboxStrings {
    private func text(_ de: String, _ en: String) -> String { language == .german ? de : en }

    var passwordRulesHeading: String { text("Das neue Passwort", "The new password") }
    /// The rules of ``PasswordPolicy`` and the form, as the checks apply them.
    var passwordRules: [String] {
        let minimum = PasswordPolicy.minimumCharacters, maximum = PasswordPolicy.maximumBytes
        return [
            text("hat mindestens \(minimum) Zeichen (ein Satz aus mehreren Wörtern ist gut zu merken),",
                 "has at least \(minimum) characters (a sentence of several words is easy to remember),"),
            text("hat höchstens \(maximum) Bytes (Umlaute und ß zählen doppelt),",
                 "has at most \(maximum) bytes (letters such as ä or é count twice),"),
            text("enthält keine Steuerzeichen,", "contains no control characters,"),
            text("unterscheidet sich vom bisherigen und", "differs from the current one and"),
            text("wird zweimal gleich eingegeben.", "is entered twice the same way."),
        ]
    }
}
