// Security: the single place where the counsellor-side routes are assembled, so the order of the security
// middleware (headers → authentication → CSRF → routes) is visible in one function.

public import Hummingbird

/// Builds the router of the web inbox and JSON API (issue 8).
public enum WebRouter {
    /// The router with every middleware and route.
    public static func make(services: WebServices) -> Router<WebRequestContext> {
        let router = Router(context: WebRequestContext.self)
        // The public help page (issue 17) is added first, with only the security headers of its own: no session
        // cookie is read or set on it, and it needs no login.
        if let help = services.help { HelpRoutes.install(on: router, directory: help) }
        // BEGIN accounts and authentication (web-auth): security headers → API token → session → CSRF →
        // login gate, then /login, /login/totp, /login/totp/enrol and /logout. Routes added below are reached only
        // with `context.counsellor` set (except /static/), and unsafe methods only with a valid CSRF token.
        // Hummingbird applies middleware only to routes added AFTER it: add no route above this line.
        WebAuthRoutes.install(on: router, services: services)
        // END accounts and authentication
        // BEGIN inbox pages, JSON API and OpenAPI document (web-inbox). The security headers middleware
        // (Web/SecurityHeadersMiddleware.swift) was added first by `WebAuthRoutes.install`.
        addInboxRoutes(to: router, services: services)
        // END inbox
        return router
    }

    /// The inbox pages (`/`, `/threads…`, `/static/app.css`) and the JSON API (`/api/v1/…`). Callers must have
    /// added the authentication and CSRF middleware before.
    public static func addInboxRoutes(to router: Router<WebRequestContext>, services: WebServices) {
        InboxRoutes(services: services).register(on: router)
        APIRoutes(services: services).register(on: router)
        NotificationSettingsRoutes(services: services).register(on: router)
        OrganisationAdminRoutes(services: services).register(on: router)
    }
}
