// Security: the single place where the counsellor-side routes are assembled, so the order of the security
// middleware (headers → authentication → CSRF → routes) is visible in one function.

public import Hummingbird

/// Builds the router of the web inbox and JSON API (issue 8).
public enum WebRouter {
    /// The router with every middleware and route.
    public static func make(services: WebServices) -> Router<WebRequestContext> {
        let router = Router(context: WebRequestContext.self)
        // Security headers on every response, including authentication failures and 404s (inbox engineer).
        router.add(middleware: SecurityHeadersMiddleware())
        // Authentication and CSRF middleware, login/logout/TOTP routes (accounts engineer).

        // --- Inbox pages, JSON API and OpenAPI document (inbox engineer) ---
        addInboxRoutes(to: router, services: services)
        // --- end of inbox routes ---
        return router
    }

    /// The inbox pages (`/`, `/threads…`, `/static/app.css`) and the JSON API (`/api/v1/…`). Callers must have added
    /// the authentication and CSRF middleware before.
    public static func addInboxRoutes(to router: Router<WebRequestContext>, services: WebServices) {
        InboxRoutes(services: services).register(on: router)
        APIRoutes(services: services).register(on: router)
    }
}
