// Security: the names every page and client must agree on. Keeping them in one place stops a form from posting
// its CSRF token under a name the middleware does not read (which would fail closed, but confusingly).

/// Cookie, header, form-field and path names of the counsellor-side authentication (issue 8).
///
/// ```swift
/// // In a server-rendered form of the inbox:
/// "<input type=\"hidden\" name=\"\(WebAuthNames.csrfField)\" value=\"\(csrfToken)\">"
/// ```
public enum WebAuthNames {
    /// The session cookie's name. A `Secure` cookie carries the `__Host-` prefix, so browsers accept it only from a
    /// secure origin, with `Path=/` and without `Domain` (a sibling subdomain cannot plant or shadow it;
    /// draft-ietf-httpbis-rfc6265bis §4.1.3.2). Without `Secure` (plain-HTTP loopback) the prefix is not allowed.
    public static func sessionCookie(secure: Bool) -> String { secure ? "__Host-mb_session" : "mb_session" }
    /// The name of the cookie that marks a browser in which an account has logged in before (see
    /// ``DeviceCookie``); prefixed like ``sessionCookie(secure:)``.
    public static func deviceCookie(secure: Bool) -> String { secure ? "__Host-mb_device" : "mb_device" }
    /// The urlencoded form field that carries the CSRF token.
    public static let csrfField = "csrf_token"
    /// The request header that carries the CSRF token (for `fetch` and multipart forms).
    public static let csrfHeader = "X-CSRF-Token"
    /// The login form's user name field.
    public static let usernameField = "username"
    /// The login form's password field.
    public static let passwordField = "password"
    /// The TOTP forms' code field.
    public static let codeField = "code"
    /// The login page (`GET`, `POST`).
    public static let loginPath = "/login"
    /// The second login step (`GET`, `POST`).
    public static let totpPath = "/login/totp"
    /// The TOTP enrolment of an account without a second factor (`GET`, `POST`).
    public static let enrolPath = "/login/totp/enrol"
    /// Ends the session (`POST` with the CSRF token).
    public static let logoutPath = "/logout"
    /// The account's own password change (`GET`, `POST`); an account whose password an administrator set is sent
    /// here before any inbox page.
    public static let passwordPath = "/account/password"
    /// The password change form's fields.
    public static let currentPasswordField = "current_password"
    public static let newPasswordField = "new_password"
    public static let repeatPasswordField = "repeat_password"
    /// Where a browser goes after login.
    public static let homePath = "/"
    /// Requests below this prefix are the JSON API: bearer tokens apply, and an unauthenticated request gets 401
    /// JSON instead of a redirect.
    public static let apiPrefix = "/api/"
    /// Paths below these prefixes are served without login (stylesheets of the login pages).
    public static let publicPrefixes = ["/static/"]
    /// The prefix of every API token (`Authorization: Bearer mbt_…`).
    public static let apiTokenPrefix = "mbt_"
}
