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
        var name = request.headers[HTTPFields.Element.Name("X-Test-Login")!]
        if name == nil, let cookies = request.headers[.cookie] {
            for cookie in cookies.split(separator: ";") {
                let trimmed = cookie.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("mb_session=test-") { name = String(trimmed.dropFirst("mb_session=test-".count)) }
            }
        }
        guard let name, let account = accounts[name] else {
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

/// TEST ONLY: a login page for the stand-in middleware (password `pw-<username>`), so a browser can log in.
enum TestLoginPages {
    static func register(on router: Router<WebRequestContext>, accounts: [String: Counsellor]) {
        router.get("/login") { _, _ -> Response in
            let page = """
                <!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Anmelden</title>
                <link rel="stylesheet" href="/static/app.css"></head><body><main id="main">
                <h1>Anmelden (Test)</h1>
                <form method="post" action="/login">
                <label for="username">Benutzername</label> <input id="username" name="username">
                <label for="password">Passwort</label> <input id="password" name="password" type="password">
                <button type="submit">Anmelden</button></form></main></body></html>
                """
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.post("/login") { request, _ -> Response in
            var request = request
            let form = String(buffer: try await request.collectBody(upTo: 4096))
            var values: [String: String] = [:]
            for pair in form.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                }
                if parts.count == 2 { values[parts[0]] = parts[1] }
            }
            guard let user = values["username"], accounts[user] != nil, values["password"] == "pw-\(user)" else {
                return Response(status: .unauthorized)
            }
            return Response(status: .seeOther, headers: [
                .location: "/threads",
                .setCookie: "mb_session=test-\(user); Path=/; HttpOnly; SameSite=Strict",
            ])
        }
    }
}
