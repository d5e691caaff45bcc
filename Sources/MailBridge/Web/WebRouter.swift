// Security: the single place where the counsellor-side routes are assembled, so the order of the security
// middleware (headers → authentication → CSRF → routes) is visible in one function.

public import Hummingbird

/// Builds the router of the web inbox and JSON API (issue 8).
public enum WebRouter {
    /// The router with every middleware and route.
    public static func make(services: WebServices) -> Router<WebRequestContext> {
        let router = Router(context: WebRequestContext.self)
        // Authentication and CSRF middleware, login/logout/TOTP routes (accounts engineer).
        // Inbox pages, JSON API and OpenAPI document (inbox engineer).
        return router
    }
}
