// Security: sets the browser-side protections on every response of the web inbox, the login pages and the API,
// including error responses and 404s: a Content-Security-Policy that allows no script, no remote content, no
// framing and forms only to this origin (a route may set a stricter one of its own, as the login pages do); no MIME
// sniffing; no Referer (thread IDs are in URLs); no framing for old browsers; no caching of decrypted pages.

public import Hummingbird
import Logging
import NIOHTTP1

/// Adds the security headers to every response (issue 8). Added first (by `WebAuthRoutes.install`), so it wraps
/// authentication, CSRF checks and the not-found responder too.
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The Content-Security-Policy of every response that sets none (W3C CSP Level 3): nothing by default, the
    /// stylesheet and images from this origin, forms only to this origin, never framed, no `<base>`.
    public static var contentSecurityPolicy: String {
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            + "base-uri 'none'"
    }

    /// The header fields set on every response, whatever the route set.
    public static var fields: HTTPFields {
        [
            .xContentTypeOptions: "nosniff",
            HTTPFields.Element.Name("Referrer-Policy")!: "no-referrer",
            HTTPFields.Element.Name("X-Frame-Options")!: "DENY",
            .cacheControl: "no-store",
        ]
    }

    public init() {}

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch is HTTPParserError {
            // A request body that broke off malformed (a bad chunk) is the client's fault: 400, not 500 (issue 25).
            response = Response(status: .badRequest)
        } catch {
            // Anything else (a store error in the authentication middleware, …) becomes a bare 500 here, so it
            // carries the headers too; only the error's type is logged (descriptions could name files).
            context.logger.error("request failed", metadata: ["error": "\(type(of: error))"])
            response = Response(status: .internalServerError)
        }
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        }
        for field in Self.fields { response.headers[field.name] = field.value }
        return response
    }
}
