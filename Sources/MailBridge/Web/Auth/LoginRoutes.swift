// Security: the login, second-step, enrolment and logout routes. Untrusted input: urlencoded form bodies
// (bounded by `maximumLoginFormBytes`), the session cookie, `lang` and `Accept-Language`. Passwords are checked with
// bcrypt (a dummy hash for unknown names, so timing reveals nothing), TOTP codes once per time step. Every outcome
// is audited (loginSucceeded/loginFailed/loggedOut with the account where known, a reason code, never the name)
// and logged as an outcome code only. The session token is replaced after the second factor (no fixation).

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ThreadStore

/// Why a login failed: the `count` of a ``AuditEvent/loginFailed`` audit entry and the `reason` log metadata.
public enum LoginFailureReason: Int, Sendable {
    /// Unknown user name or wrong password (not told apart on purpose).
    case badCredentials = 1
    /// The password was right but the account is disabled.
    case accountDisabled = 2
    /// Too many failures: the user name, client address or account was just locked (audited once per lock;
    /// refusals while locked are only logged, so an attacker cannot make the audit table grow).
    case rateLimited = 3
    /// A wrong TOTP code.
    case badCode = 4
    /// A TOTP code of a time step that was already used.
    case replayedCode = 5
    /// The CSRF token of the second step was missing or wrong.
    case badCSRFToken = 6
}

/// Registers the authentication middleware and routes on a router (called by ``WebRouter/make(services:)``).
enum WebAuthRoutes {
    static func install(on router: Router<WebRequestContext>, services: WebServices) {
        let state = WebAuthState(services: services)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: APITokenMiddleware(state: state))
        router.add(middleware: SessionMiddleware(state: state))
        router.add(middleware: CSRFMiddleware(state: state))
        router.add(middleware: AuthenticationGateMiddleware())
        router.add(middleware: PasswordChangeGateMiddleware())
        let routes = LoginRoutes(state: state)
        router.get(RouterPath(WebAuthNames.loginPath)) { try await routes.showLogin($0, $1) }
        router.post(RouterPath(WebAuthNames.loginPath)) { try await routes.login($0, $1) }
        router.get(RouterPath(WebAuthNames.totpPath)) { request, _ in try await routes.showCode(request) }
        router.post(RouterPath(WebAuthNames.totpPath)) { request, _ in
            try await routes.withPendingForm(request) { token, session, form in
                try await routes.checkCode(request, token: token, session: session, form: form)
            }
        }
        router.get(RouterPath(WebAuthNames.enrolPath)) { request, _ in try await routes.showEnrolment(request) }
        router.post(RouterPath(WebAuthNames.enrolPath)) { request, _ in
            try await routes.withPendingForm(request) { token, session, form in
                try await routes.enrol(request, token: token, session: session, form: form)
            }
        }
        router.post(RouterPath(WebAuthNames.logoutPath)) { try await routes.logout($0, $1) }
        router.get(RouterPath(LoginPages.stylesheetPath)) { _, _ in LoginPages.stylesheetResponse() }
        PasswordChangeRoutes.install(on: router, state: state)
    }
}

struct LoginRoutes: Sendable {
    let state: WebAuthState

    /// Every login step goes through the web state store (shared by all nodes on one database).
    var webState: any WebStateStore { state.webState }
    var secure: Bool { state.settings.secureCookies }

    // MARK: Password step

    func showLogin(_ request: Request, _ context: WebRequestContext) async throws -> Response {
        if context.counsellor != nil { return AuthResponses.redirect(to: WebAuthNames.homePath) }
        return AuthResponses.html(LoginPages.login(texts(request)))
    }

    func login(_ request: Request, _ context: WebRequestContext) async throws -> Response {
        let texts = texts(request)
        let form = try await Self.form(request, limit: state.settings.maximumLoginFormBytes)
        let username = String((form[WebAuthNames.usernameField] ?? "").trimmingCharacters(in: .whitespaces).prefix(128))
        let password = form[WebAuthNames.passwordField] ?? ""
        // A browser that completed a login for this name before is limited on its own; anyone else per user name
        // and per client address. Strangers who lock the name by failing on purpose so lock out only strangers.
        let credentials = Account.isValidUsername(username)
            ? try await webState.loginCredentials(username: username) : nil
        let device = credentials.flatMap { state.device(request, account: $0.account) }
        let keys = device.map { ["device:" + $0.id] }
            ?? ["user:" + username.lowercased(), LoginRateLimit.addressKey(clientAddress(request, context))]
        if try await state.isLocked(keys) {
            refused()
            return AuthResponses.html(LoginPages.login(texts, username: username, error: texts.locked),
                                      status: .tooManyRequests)
        }
        guard let matches = try await state.passwordChecks.run({
            try await state.hasher.verify(password, against: credentials?.passwordHash)
        }) else {
            state.services.logger.warning("login", metadata: ["outcome": "refused", "reason": "busy"])
            var response = AuthResponses.html(LoginPages.login(texts, username: username, error: texts.busy),
                                              status: .serviceUnavailable)
            response.headers[.retryAfter] = "5"
            return response
        }
        // An account outside every configured organisation (issue 29) is refused like a disabled one; one whose
        // organisation's key is not loaded is told so (after its password matched: nothing for a guesser).
        let organisations = state.services.organisations
        guard matches, let credentials, !credentials.account.isDisabled,
            organisations.reach(of: credentials.account.organisation) != nil
                || organisations.isClosed(credentials.account.organisation)
        else {
            let locked = try await state.recordFailure(keys)
            try await fail(matches ? .accountDisabled : .badCredentials, actor: credentials?.account.id, locked: locked)
            return AuthResponses.html(LoginPages.login(texts, username: username, error: texts.loginFailed),
                                      status: .forbidden)
        }
        guard !organisations.isClosed(credentials.account.organisation) else {
            state.services.logger.warning("login", metadata: ["outcome": "refused", "reason": "organisation key"])
            return AuthResponses.html(LoginPages.login(texts, username: username, error: texts.organisationUnavailable),
                                      status: .serviceUnavailable)
        }
        try await state.recordSuccess([keys[0]])
        let account = credentials.account
        let settings = state.settings
        let previous = request.cookies[settings.sessionCookieName]?.value
        let now = state.now
        let needsCode = account.hasSecondFactor || settings.requireSecondFactor
        // One transaction: the previous cookie's session and every ended one go, the new one starts, and a login
        // that needs no code is audited.
        let session = try await webState.startLogin(
            for: account.id, replacing: previous, secondFactorDone: !needsCode, now: now,
            lifetime: needsCode ? settings.pendingLoginTimeout : settings.absoluteTimeout,
            idleTimeout: settings.idleTimeout)
        let cookie = AuthResponses.sessionCookie(session.token, secure: secure)
        guard needsCode else {
            state.services.logger.info("login", metadata: ["outcome": "succeeded"])
            return AuthResponses.redirect(to: WebAuthNames.homePath, cookie: cookie,
                                          alsoSetting: [state.deviceCookie(for: account)])
        }
        state.services.logger.info("login", metadata: ["outcome": "password accepted"])
        let next = account.hasSecondFactor ? WebAuthNames.totpPath : WebAuthNames.enrolPath
        // From here on the account is known: its language, not the browser's (issue 22).
        return AuthResponses.redirect(to: "\(next)?lang=\(account.language.rawValue)", cookie: cookie)
    }

    // MARK: Second step

    func showCode(_ request: Request) async throws -> Response {
        guard let (_, session) = try await pendingSession(request) else {
            return AuthResponses.redirect(to: WebAuthNames.loginPath)
        }
        let texts = texts(request, account: session.account)
        guard session.account.hasSecondFactor else { return AuthResponses.redirect(to: WebAuthNames.enrolPath) }
        return AuthResponses.html(LoginPages.totp(texts, csrf: session.csrfToken))
    }

    /// Runs after ``withPendingForm(_:_:)`` accepted the post.
    func checkCode(_ request: Request, token: String, session: WebSession, form: FormFields) async throws -> Response {
        let texts = texts(request, account: session.account)
        let account = session.account
        let key = [LoginRateLimit.accountKey("account", account)]
        if try await state.isLocked(key) {
            refused()
            return AuthResponses.html(LoginPages.totp(texts, csrf: session.csrfToken, error: texts.locked),
                                      status: .tooManyRequests)
        }
        let username = account.username
        guard let secret = try await webState.loginCredentials(username: username)?.totpSecret
        else { return AuthResponses.redirect(to: WebAuthNames.enrolPath) }
        let now = state.now
        var reason = LoginFailureReason.badCode
        if let step = TOTPAuthenticator.verify(code: form[WebAuthNames.codeField] ?? "", secret: secret, at: now) {
            let settings = state.settings
            // One transaction: the step is accepted (once, on any node), the pending session is replaced by a
            // full one and the login is audited; a replayed step changes nothing.
            let full = try await webState.completeLogin(acceptingStep: step, for: account.id, replacing: token,
                                                        now: now, lifetime: settings.absoluteTimeout)
            if let full { return try await succeeded(full, keys: key, account: account) }
            reason = .replayedCode
        }
        let locked = try await state.recordFailure(key)
        try await fail(reason, actor: account.id, locked: locked)
        return AuthResponses.html(LoginPages.totp(texts, csrf: session.csrfToken, error: texts.codeFailed),
                                  status: .forbidden)
    }

    // MARK: Enrolment

    func showEnrolment(_ request: Request) async throws -> Response {
        guard let (token, session) = try await pendingSession(request) else {
            return AuthResponses.redirect(to: WebAuthNames.loginPath)
        }
        let texts = texts(request, account: session.account)
        guard !session.account.hasSecondFactor else { return AuthResponses.redirect(to: WebAuthNames.totpPath) }
        let secret = state.enrolmentSecret(for: session.account.id, pendingToken: token)
        return AuthResponses.html(enrolmentPage(texts, session: session, secret: secret, error: nil))
    }

    /// Runs after ``withPendingForm(_:_:)`` accepted the post.
    func enrol(_ request: Request, token: String, session: WebSession, form: FormFields) async throws -> Response {
        let texts = texts(request, account: session.account)
        let account = session.account
        guard !account.hasSecondFactor else { return AuthResponses.redirect(to: WebAuthNames.totpPath) }
        let secret = state.enrolmentSecret(for: account.id, pendingToken: token)
        let key = [LoginRateLimit.accountKey("account", account)]
        if try await state.isLocked(key) {
            refused()
            return AuthResponses.html(enrolmentPage(texts, session: session, secret: secret, error: texts.locked),
                                      status: .tooManyRequests)
        }
        let now = state.now
        if let step = TOTPAuthenticator.verify(code: form[WebAuthNames.codeField] ?? "", secret: secret, at: now) {
            let settings = state.settings
            let full = try await webState.completeLogin(enrolling: secret, acceptedStep: step, for: account.id,
                                                        replacing: token, now: now,
                                                        lifetime: settings.absoluteTimeout)
            if let full { return try await succeeded(full, keys: key, account: account) }
            return AuthResponses.redirect(to: WebAuthNames.totpPath)
        }
        let locked = try await state.recordFailure(key)
        try await fail(.badCode, actor: account.id, locked: locked)
        return AuthResponses.html(enrolmentPage(texts, session: session, secret: secret, error: texts.codeFailed),
                                  status: .forbidden)
    }

    func enrolmentPage(_ texts: LoginTexts, session: WebSession, secret: String, error: String?) -> String {
        LoginPages.enrol(
            texts, secret: TOTPAuthenticator.base32(secret),
            uri: TOTPAuthenticator.provisioningURI(secret: secret, username: session.account.username,
                                                   issuer: state.settings.totpIssuer),
            csrf: session.csrfToken, error: error)
    }

    // MARK: Logout

    func logout(_ request: Request, _ context: WebRequestContext) async throws -> Response {
        let cleared = AuthResponses.clearedSessionCookie(secure: secure)
        guard case .session = context.authentication, let counsellor = context.counsellor,
            let token = request.cookies[state.settings.sessionCookieName]?.value
        else { return AuthResponses.redirect(to: WebAuthNames.loginPath, cookie: cleared) }
        try await webState.logOut(token: token, of: counsellor.id)
        state.services.logger.info("logout", metadata: ["outcome": "succeeded"])
        return AuthResponses.redirect(to: WebAuthNames.loginPath, cookie: cleared)
    }

    // MARK: Helpers

    /// The redirect after a completed second step: the full session's cookie and a renewed device cookie.
    func succeeded(_ session: NewWebSession, keys: [String], account: Account) async throws -> Response {
        try await state.recordSuccess(keys)
        state.services.logger.info("login", metadata: ["outcome": "succeeded"])
        return AuthResponses.redirect(to: WebAuthNames.homePath,
                                      cookie: AuthResponses.sessionCookie(session.token, secure: secure),
                                      alsoSetting: [state.deviceCookie(for: account)])
    }

    /// Audits and logs a failure; with `locked`, also the lock it caused.
    func fail(_ reason: LoginFailureReason, actor: AccountID?, locked: Bool = false) async throws {
        state.services.logger.notice("login", metadata: ["outcome": "failed", "reason": "\(reason.rawValue)"])
        if locked {
            state.services.logger.warning("login", metadata: [
                "outcome": "locked", "reason": "\(LoginFailureReason.rateLimited.rawValue)",
            ])
        }
        try await webState.auditLoginFailure(
            reasons: [reason.rawValue] + (locked ? [LoginFailureReason.rateLimited.rawValue] : []), actor: actor)
    }

    /// A request refused because of a running lock: logged, not audited, no password or code checked.
    func refused() {
        state.services.logger.notice("login", metadata: [
            "outcome": "refused", "reason": "\(LoginFailureReason.rateLimited.rawValue)",
        ])
    }

    /// Reads a second-step form post (code or enrolment): the pending session with its cookie token, the form (up
    /// to `maximumLoginFormBytes`) and its CSRF token, checked in constant time, then runs `body`. Without a pending
    /// session the answer is the login page; with a wrong CSRF token it is 403 (audited).
    func withPendingForm(_ request: Request,
                         _ body: (String, WebSession, FormFields) async throws -> Response) async throws -> Response {
        guard let (token, session) = try await pendingSession(request) else {
            return AuthResponses.redirect(to: WebAuthNames.loginPath)
        }
        let form = try await Self.form(request, limit: state.settings.maximumLoginFormBytes)
        guard ConstantTime.equals(form[WebAuthNames.csrfField] ?? "", session.csrfToken) else {
            try await fail(.badCSRFToken, actor: session.account.id)
            return AuthResponses.forbidden(path: request.uri.path)
        }
        return try await body(token, session, form)
    }

    /// The live session of the cookie whose second factor is still open, with its token.
    func pendingSession(_ request: Request) async throws -> (String, WebSession)? {
        guard let token = request.cookies[state.settings.sessionCookieName]?.value, !token.isEmpty else { return nil }
        let now = state.now
        let idle = state.settings.idleTimeout
        let session = try await webState.webSession(token: token, now: now, idleTimeout: idle)
        guard let session, !session.secondFactorDone
        else { return nil }
        return (token, session)
    }

    /// The client address for the rate limit: the trusted proxy header if configured, else the peer address.
    func clientAddress(_ request: Request, _ context: WebRequestContext) -> String {
        state.clientAddress(request, context)
    }

    static func form(_ request: Request, limit: Int) async throws -> FormFields {
        var request = request
        let body = try await request.collectBody(upTo: limit)
        return FormFields(String(buffer: body))
    }
}
