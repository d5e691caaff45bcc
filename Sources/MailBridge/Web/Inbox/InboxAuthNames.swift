/// The names agreed with the authentication middleware (issue 8 contract). The inbox uses them only through this
/// enum, so switching to the accounts side's `WebAuthNames` is a one-file change.
enum InboxAuthNames {
    /// The hidden form field that carries the session's CSRF token on every POST form.
    static let csrfFormField = "csrf_token"
    /// The header alternative for the CSRF token (scripts; the inbox itself has none).
    static let csrfHeader = "X-CSRF-Token"
    /// The session cookie.
    static let sessionCookie = "mb_session"
    /// Where a browser without a session is sent.
    static let loginPath = "/login"
}
