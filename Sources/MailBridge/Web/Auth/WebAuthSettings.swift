// Security: the knobs of counsellor authentication. The defaults are the safe production values; the lead fills
// them from the `[web]` configuration section. Lowering `bcryptCost` is for tests only.

public import Foundation

/// Session, second-factor, cookie, password-hashing and rate-limit settings of the web inbox (issue 8).
///
/// ```swift
/// var auth = WebAuthSettings()
/// auth.idleTimeout = 20 * 60
/// auth.secureCookies = false   // only behind nothing on plain-HTTP loopback, for a local demo
/// let services = WebServices(store: store, replies: replies, logger: logger, auth: auth)
/// ```
public struct WebAuthSettings: Sendable {
    /// A session ends after this long without a request (default 30 minutes).
    public var idleTimeout: TimeInterval = 30 * 60
    /// A session ends this long after login, active or not (default 12 hours).
    public var absoluteTimeout: TimeInterval = 12 * 60 * 60
    /// How long the step between password and TOTP code may take (default 5 minutes).
    public var pendingLoginTimeout: TimeInterval = 5 * 60
    /// Whether every account needs a TOTP second factor (accounts without one enrol at their next login).
    public var requireSecondFactor = true
    /// Whether the session cookie carries `Secure` (turn off only for plain-HTTP loopback without TLS proxy).
    public var secureCookies = true
    /// The session cookie's name under these settings (``WebAuthNames/sessionCookie(secure:)``).
    public var sessionCookieName: String { WebAuthNames.sessionCookie(secure: secureCookies) }
    /// The device cookie's name under these settings (``WebAuthNames/deviceCookie(secure:)``).
    public var deviceCookieName: String { WebAuthNames.deviceCookie(secure: secureCookies) }
    /// The bcrypt cost (log2 rounds), 4…31. Production: 12. Tests may lower it.
    public var bcryptCost: UInt8 = 12
    /// Login failures allowed per user name, client address (IPv6: per /64) and known browser before a lockout.
    public var rateLimit = LoginRateLimit.Policy()
    /// Password checks (bcrypt, about 0.2 s of CPU each) running at once; a login beyond it gets 503 at once.
    public var maximumConcurrentPasswordChecks = 8
    /// A request header that holds the client address set by a trusted reverse proxy (for example
    /// `X-Real-IP`). Nil: use the connection's peer address. Set it only when every request comes through
    /// that proxy, or clients can pick their own address.
    public var clientAddressHeader: String?
    /// The origins (`https://host[:port]`, as browsers send them in `Origin`) that may send POST, PUT, PATCH and
    /// DELETE. Empty: the request's own `Host` is the only allowed origin. Set it behind a reverse proxy that
    /// rewrites `Host`, or every form post is refused as cross-site.
    public var allowedOrigins: [String] = []
    /// The issuer shown in authenticator apps.
    public var totpIssuer = "MailBridge"
    /// The counselling service's name on the pages before login (`[web] organisation-name`); nil: none.
    public var organisationName: String?
    /// Largest urlencoded form body the authentication routes and the CSRF check read: the largest reply
    /// (``ReplyComposer/maximumTextBytes`` of UTF-8, up to three times that once percent-encoded) plus room for the
    /// other fields.
    public var maximumFormBytes = 3 * ReplyComposer.maximumTextBytes + (64 << 10)
    /// Largest body of the anonymous login, second-step and enrolment forms (a name, a password, a code).
    public var maximumLoginFormBytes = 4 << 10

    /// The production defaults.
    public init() {}
}

extension WebAuthSettings {
    /// The settings of a `[web]` configuration section: `secure-cookies`, `require-second-factor`,
    /// `session-idle-minutes`, `session-max-hours`, `client-address-header`, and `public-url` as the one allowed
    /// `Origin` (its scheme, host and port; behind a reverse proxy the `Host` header may name the upstream
    /// instead). Everything else keeps
    /// its production default (bcrypt cost 12, 5 failures per 15 minutes).
    ///
    /// ```swift
    /// let services = WebServices(store: store, replies: replies, logger: logger,
    ///                            auth: WebAuthSettings(configuration.web))
    /// ```
    public init(_ web: BridgeConfiguration.Web) {
        self.init()
        secureCookies = web.secureCookies
        requireSecondFactor = web.requireSecondFactor
        idleTimeout = TimeInterval(max(1, web.sessionIdleMinutes)) * 60
        absoluteTimeout = TimeInterval(max(1, web.sessionMaxHours)) * 3600
        if let url = web.publicURL, let components = URLComponents(string: url), let scheme = components.scheme,
            let host = components.host
        {
            // Browsers omit the scheme's default port in `Origin` (RFC 6454 §6.1).
            let defaultPort = scheme.lowercased() == "https" ? 443 : 80
            let port = components.port.flatMap { $0 == defaultPort ? nil : ":\($0)" } ?? ""
            allowedOrigins = ["\(scheme.lowercased())://\(host.lowercased())\(port)"]
        }
        clientAddressHeader = web.clientAddressHeader
        organisationName = web.organisationName
    }
}
