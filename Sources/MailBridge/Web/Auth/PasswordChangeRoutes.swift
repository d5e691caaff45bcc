// Security: an account changes its own password. Untrusted input: a urlencoded form (bounded by
// `maximumLoginFormBytes`) with the current and the new password, and the session cookie. Needs a browser session
// whose second factor is done and the session's CSRF token (checked by the CSRF middleware before this runs). The
// current password is checked with bcrypt under the same bound as logins, and wrong ones count towards a lock of
// their own per account, so a stolen session cannot be used to guess the password. No password is logged, audited
// or echoed; the audit log records `passwordChanged` with the account.

import Foundation
import Hummingbird
import Logging
import ThreadStore

struct PasswordChangeRoutes: Sendable {
    let state: WebAuthState

    static func install(on router: Router<WebRequestContext>, state: WebAuthState) {
        let routes = PasswordChangeRoutes(state: state)
        router.get(RouterPath(WebAuthNames.passwordPath)) { request, context in
            guard let chrome = PageChrome(context, timeZone: state.services.timeZone) else {
                return WebResponses.redirect(WebAuthNames.loginPath)
            }
            return WebResponses.html(InboxPages.passwordChange(chrome, forced: chrome.counsellor.mustChangePassword))
        }
        router.post(RouterPath(WebAuthNames.passwordPath)) { request, context in
            try await routes.change(request, context)
        }
    }

    func change(_ request: Request, _ context: WebRequestContext) async throws -> Response {
        guard let chrome = PageChrome(context, timeZone: state.services.timeZone),
            let token = request.cookies[state.settings.sessionCookieName]?.value
        else {
            return WebResponses.redirect(WebAuthNames.loginPath)
        }
        let strings = chrome.strings
        let counsellor = chrome.counsellor
        func refused(_ text: String, _ status: HTTPResponse.Status) -> Response {
            WebResponses.html(InboxPages.passwordChange(chrome, forced: counsellor.mustChangePassword, error: text),
                              status: status)
        }
        let username = counsellor.username
        let credentials = try await state.webState.loginCredentials(username: username)
        guard let credentials else { return WebResponses.redirect(WebAuthNames.loginPath) }
        let key = [LoginRateLimit.accountKey("password", credentials.account)]
        if try await state.isLocked(key) { return refused(strings.passwordLocked, .tooManyRequests) }
        let form = try await LoginRoutes.form(request, limit: state.settings.maximumLoginFormBytes)
        let current = form[WebAuthNames.currentPasswordField] ?? ""
        let new = form[WebAuthNames.newPasswordField] ?? ""
        guard new == form[WebAuthNames.repeatPasswordField] ?? "" else {
            return refused(strings.passwordsDiffer, .badRequest)
        }
        switch PasswordPolicy.check(new) {
        case .acceptable: break
        case .tooShort: return refused(strings.passwordTooShort, .badRequest)
        case .tooLong: return refused(strings.passwordTooLong, .badRequest)
        case .controlCharacters: return refused(strings.passwordControlCharacters, .badRequest)
        }
        let hash = credentials.passwordHash
        let hasher = state.hasher
        guard let matches = try await state.passwordChecks.run({ try await hasher.verify(current, against: hash) })
        else { return refused(strings.passwordBusy, .serviceUnavailable) }
        guard matches else {
            _ = try await state.recordFailure(key)
            state.services.logger.notice("password change", metadata: ["outcome": "refused", "reason": "current"])
            return refused(strings.currentPasswordWrong, .forbidden)
        }
        guard new != current else { return refused(strings.passwordUnchanged, .badRequest) }
        let newHash = try await state.hasher.hash(new)
        let id = counsellor.id
        let account = try await state.webState.changeOwnPassword(of: id, passwordHash: newHash, keptSession: token)
        try await state.recordSuccess(key)
        state.services.logger.info("password change", metadata: ["outcome": "changed"])
        // The change revoked the account's device cookies (they bind the password's time): this browser gets a
        // new one.
        return AuthResponses.redirect(to: "/threads?notice=\(InboxNotice.passwordChanged.code)",
                                      cookie: state.deviceCookie(for: account))
    }
}
