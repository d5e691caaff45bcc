import Foundation
import Hummingbird
import MailBridge
import ThreadStore

/// TEST ONLY: stands in for the accounts side's authentication and CSRF middleware until it is on main.
/// `X-Test-Login: <username>` logs in one of `accounts` with a browser session whose CSRF token is
/// `csrf-<username>`; adding `X-Test-Auth: token` makes it an API-token request instead. Like the real
/// middleware, a session-authenticated POST/PUT/PATCH/DELETE without the right CSRF token (form field
/// `csrf_token` or header `X-CSRF-Token`) is answered 403 before any route runs.
struct TestLoginMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let accounts: [String: Counsellor]

    static func csrfToken(_ username: String) -> String { "csrf-\(username)" }

    func handle(_ request: Request, context: WebRequestContext,
                next: (Request, WebRequestContext) async throws -> Response) async throws -> Response {
        guard let name = request.headers[HTTPFields.Element.Name("X-Test-Login")!], let account = accounts[name] else {
            return try await next(request, context)
        }
        var context = context
        var request = request
        context.counsellor = account
        if request.headers[HTTPFields.Element.Name("X-Test-Auth")!] == "token" {
            context.authentication = .apiToken
            return try await next(request, context)
        }
        let token = Self.csrfToken(name)
        context.authentication = .session(csrfToken: token)
        if [.post, .put, .patch, .delete].contains(request.method) {
            var presented = request.headers[HTTPFields.Element.Name("X-CSRF-Token")!]
            if presented == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                let body = try await request.collectBody(upTo: 4 << 20)
                let form = String(buffer: body)
                for pair in form.split(separator: "&") where pair.hasPrefix("csrf_token=") {
                    presented = String(pair.dropFirst("csrf_token=".count)).removingPercentEncoding
                }
            }
            guard presented == token else { return Response(status: .forbidden) }
        }
        return try await next(request, context)
    }
}
