// Security: the authentication and CSRF middleware. Untrusted input: the session cookie, the
// `Authorization` header, `Origin`/`Sec-Fetch-Site`, the `X-CSRF-Token` header and the `csrf_token` form field.
// Tokens are looked up by their SHA-256 (sessions through the web state store, API tokens in ThreadStore); CSRF
// tokens compare in constant time. Only an account
// whose session passed the second factor (or needs none) or that holds a live API token is set as
// `context.counsellor`; everything else stays anonymous and is stopped by ``AuthenticationGateMiddleware``.
// Nothing here logs a token, cookie or user name.

import Foundation
import HTTPTypes
import Hummingbird
import Logging
public import ThreadStore

extension Counsellor {
    /// The identity of a stored account (for the middleware, and for routes that act for another account), with
    /// the reach its organisation gives it; nil when `organisations` does not admit the account (it names no
    /// configured organisation, or one while the installation has none): such an account works nowhere.
    public init?(_ account: Account, in organisations: OrganisationDirectory, channel: AuditChannel = .browser) {
        guard let reach = organisations.reach(of: account.organisation) else { return nil }
        self.init(id: account.id, username: account.username, displayName: account.displayName, role: account.role,
                  fields: account.fields, language: account.language, channel: channel, reach: reach)
        mustChangePassword = account.mustChangePassword
        organisation = account.organisation
        administers = account.administers
    }
}

extension Account {
    /// When the password was last set, in Unix milliseconds: the version of the password that device cookies and
    /// per-account lock keys are bound to (a reset or change gives a new one).
    var passwordEpoch: Int64 { Int64((passwordChangedAt.timeIntervalSince1970 * 1000).rounded()) }
}

// SecurityHeadersMiddleware (CSP, nosniff, no referrer, no framing, no caching on every response, errors included)
// lives in Web/SecurityHeadersMiddleware.swift; `WebAuthRoutes.install` adds it first.

/// `Authorization: Bearer mbt_…` below `/api/`: a live token of an enabled account authenticates as
/// ``WebAuthentication/apiToken``; a present but unknown, revoked or malformed token gets 401 at once. Token
/// guessing is limited like password guessing (issue 25): every refused token counts against the client address
/// (an IPv6 address per /64, ``LoginRateLimit/addressKey(_:)``) in the login rate limiter, under a key of its own;
/// while that address is locked, every bearer request from it gets 429 with `Retry-After`, valid tokens too (or
/// the answer would still tell a right guess from a wrong one). Other addresses are not affected.
struct APITokenMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let state: WebAuthState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.uri.path.hasPrefix(WebAuthNames.apiPrefix), let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        let limitKeys = [Self.limitKey(state.clientAddress(request, context))]
        if let seconds = try await state.secondsLocked(limitKeys) {
            state.services.logger.notice("api token refused", metadata: ["outcome": "rate-limited"])
            var response = AuthResponses.json(error: "too_many_requests", status: .tooManyRequests)
            response.headers[.retryAfter] = "\(seconds)"
            return response
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            state.services.logger.info("api token refused", metadata: ["outcome": "malformed"])
            _ = try await state.recordFailure(limitKeys)
            return AuthResponses.json(error: "unauthenticated", status: .unauthorized)
        }
        let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
        guard let credential = try await state.services.webState.apiTokenCredential(token: token)
        else {
            let locked = try await state.recordFailure(limitKeys)
            state.services.logger.info("api token refused",
                                       metadata: ["outcome": locked ? "unknown, address locked" : "unknown"])
            return AuthResponses.json(error: "unauthenticated", status: .unauthorized)
        }
        guard let counsellor = Counsellor(credential.account, in: state.services.organisations,
                                          channel: .apiToken(credential.tokenID))
        else {
            // A live token of an account outside every configured organisation: refused like an unknown one, so
            // that it tells nothing, but not counted (it is no guess).
            state.services.logger.info("api token refused", metadata: ["outcome": "no organisation"])
            return AuthResponses.json(error: "unauthenticated", status: .unauthorized)
        }
        var context = context
        context.counsellor = counsellor
        context.authentication = .apiToken
        return try await next(request, context)
    }

    /// The rate-limit key of refused tokens from `address`, apart from the login form's (`ip:`) keys.
    static func limitKey(_ address: String) -> String { "token-" + LoginRateLimit.addressKey(address) }
}

/// The session cookie (`__Host-mb_session`): a live session whose second factor is done authenticates as
/// ``WebAuthentication/session(csrfToken:)``. A cookie of an ended session is cleared in the response.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let state: WebAuthState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        // Only a value of the shape the server hands out (64 lower-case hex characters) is looked up, so junk
        // cookies from anonymous clients open no store transaction; any other value is treated as an ended session.
        guard context.counsellor == nil, let token = request.cookies[state.settings.sessionCookieName]?.value,
            !token.isEmpty
        else { return try await next(request, context) }
        let now = state.now
        let idle = state.settings.idleTimeout
        let wellFormed = token.utf8.count == 64
            && token.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        let session = wellFormed
            ? try await state.webState.authenticateWebSession(token: token, now: now, idleTimeout: idle) : nil
        guard let session else {
            var response = try await next(request, context)
            let prefix = state.settings.sessionCookieName + "="
            if !response.headers[values: .setCookie].contains(where: { $0.hasPrefix(prefix) }) {
                response.headers[values: .setCookie].append(
                    AuthResponses.clearedSessionCookie(secure: state.settings.secureCookies))
            }
            return response
        }
        var context = context
        if session.secondFactorDone, let counsellor = Counsellor(session.account, in: state.services.organisations) {
            context.counsellor = counsellor
            context.authentication = .session(csrfToken: session.csrfToken)
        }
        return try await next(request, context)
    }
}

/// For POST, PUT, PATCH and DELETE: refuses cross-site requests (`Sec-Fetch-Site` other than `same-origin` or
/// `none`, or an `Origin` whose host differs from `Host`), and for session-authenticated requests demands the
/// session's CSRF token in `X-CSRF-Token` or the urlencoded form field `csrf_token`. 403 on failure. Bearer-token
/// requests are exempt (a browser cannot attach the token cross-site).
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let state: WebAuthState
    static let unsafeMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard Self.unsafeMethods.contains(request.method), context.authentication != .apiToken else {
            return try await next(request, context)
        }
        guard Self.isSameOrigin(request, allowedOrigins: state.settings.allowedOrigins) else {
            state.services.logger.notice("request refused", metadata: ["outcome": "cross-site"])
            return AuthResponses.forbidden(path: request.uri.path)
        }
        guard case .session(let expected) = context.authentication else { return try await next(request, context) }
        var request = request
        var presented = request.headers[.init(WebAuthNames.csrfHeader)!]
        if presented == nil, Self.isForm(request) {
            let body = try await request.collectBody(upTo: state.settings.maximumFormBytes)
            presented = FormFields(String(buffer: body))[WebAuthNames.csrfField]
        }
        guard let presented, ConstantTime.equals(presented, expected) else {
            state.services.logger.notice("request refused", metadata: ["outcome": "csrf"])
            return AuthResponses.forbidden(path: request.uri.path)
        }
        return try await next(request, context)
    }

    static func isForm(_ request: Request) -> Bool {
        request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
    }

    /// Fetch Metadata (`Sec-Fetch-Site`) where the browser sends it, and `Origin` (RFC 6454) against the
    /// configured origins or, if none are configured, against `Host`.
    static func isSameOrigin(_ request: Request, allowedOrigins: [String]) -> Bool {
        if let site = request.headers[.init("Sec-Fetch-Site")!]?.lowercased(), site != "same-origin", site != "none" {
            return false
        }
        guard let origin = request.headers[.origin] else { return true }
        // Every page is served with `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` even
        // for a same-origin form post (Fetch Standard, "serializing a request origin"). They also send Fetch
        // Metadata, which a page cannot forge: `null` passes only together with `Sec-Fetch-Site: same-origin`.
        if origin == "null", request.headers[.init("Sec-Fetch-Site")!]?.lowercased() == "same-origin" { return true }
        if !allowedOrigins.isEmpty {
            let normalized = origin.lowercased()
            return allowedOrigins.contains { $0.lowercased().trimmingCharacters(in: ["/"]) == normalized }
        }
        guard origin != "null", let components = URLComponents(string: origin), let host = components.host,
            let authority = request.head.authority
        else { return false }
        let originAuthority = components.port.map { "\(host):\($0)" } ?? host
        if originAuthority.lowercased() == authority.lowercased() { return true }
        // Host may omit the default port that Origin never names, or the reverse.
        let defaultPort = components.scheme == "https" ? 443 : 80
        return "\(host):\(defaultPort)".lowercased() == authority.lowercased()
            || (components.port == defaultPort && host.lowercased() == authority.lowercased())
    }
}

/// Stops anonymous requests to everything but the login pages and public assets: 401 JSON below `/api/`, else a
/// 303 redirect to `/login`.
struct AuthenticationGateMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext

    /// The login pages, and the API's OpenAPI document (issue 25: it describes the API, nothing of its data).
    static let publicPaths: Set<String> = [WebAuthNames.loginPath, WebAuthNames.totpPath, WebAuthNames.enrolPath,
                                           APIRoutes.prefix + "/openapi.json"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        if context.counsellor != nil || Self.publicPaths.contains(path)
            || WebAuthNames.publicPrefixes.contains(where: { path.hasPrefix($0) })
        {
            return try await next(request, context)
        }
        if path.hasPrefix(WebAuthNames.apiPrefix) {
            return AuthResponses.json(error: "unauthenticated", status: .unauthorized)
        }
        return AuthResponses.redirect(to: WebAuthNames.loginPath)
    }
}

/// A browser session of an account whose password an administrator set reaches only the password form, logout and
/// the stylesheets until the account has chosen its own password: pages redirect there, the JSON API answers 403
/// `password_change_required`. API tokens are not affected (an administrator made them for a platform).
struct PasswordChangeGateMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext

    static let allowedPaths: Set<String> = [WebAuthNames.passwordPath, WebAuthNames.logoutPath]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        guard case .session = context.authentication, context.counsellor?.mustChangePassword == true,
            !Self.allowedPaths.contains(path), !WebAuthNames.publicPrefixes.contains(where: { path.hasPrefix($0) })
        else { return try await next(request, context) }
        if path.hasPrefix(WebAuthNames.apiPrefix) {
            return AuthResponses.json(error: "password_change_required", status: .forbidden)
        }
        return AuthResponses.redirect(to: WebAuthNames.passwordPath)
    }
}
