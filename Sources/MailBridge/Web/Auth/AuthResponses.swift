// Security: every response the authentication code builds. Cookies carry exactly `HttpOnly; Secure` (unless
// turned off for plain-HTTP loopback) `; SameSite=Strict; Path=/`. HTML pages carry a strict Content Security
// Policy (no script at all, styles only from our origin). Bodies never echo a secret.

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

enum AuthResponses {
    /// The CSP of every page this module renders (and the default for every other response: see
    /// ``SecurityHeadersMiddleware``).
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func sessionCookie(_ token: String, secure: Bool) -> String {
        cookie(WebAuthNames.sessionCookie(secure: secure), token, secure: secure)
    }

    static func clearedSessionCookie(secure: Bool) -> String {
        cookie(WebAuthNames.sessionCookie(secure: secure), "", secure: secure, maxAge: 0)
    }

    /// The device cookie (``DeviceCookie``): like the session cookie, but kept for `maxAge` seconds.
    static func deviceCookie(_ value: String, secure: Bool, maxAge: TimeInterval) -> String {
        cookie(WebAuthNames.deviceCookie(secure: secure), value, secure: secure, maxAge: Int(maxAge))
    }

    /// `name=value; Path=/[; Max-Age=n]; HttpOnly[; Secure]; SameSite=Strict` (RFC 6265 §4.1), never `Domain`.
    private static func cookie(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> String {
        let age = maxAge.map { "; Max-Age=\($0)" } ?? ""
        return "\(name)=\(value); Path=/\(age); HttpOnly\(secure ? "; Secure" : ""); SameSite=Strict"
    }

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// 303 See Other: after a POST, the browser follows with GET (RFC 9110 §15.4.4).
    static func redirect(to location: String, cookie: String? = nil, alsoSetting extra: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        headers[values: .setCookie] = (cookie.map { [$0] } ?? []) + extra
        return Response(status: .seeOther, headers: headers)
    }

    /// A JSON error (`{"error":"…"}`) for the API; `code` is a fixed identifier, never user input.
    static func json(error code: String, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"\(code)\"}")))
    }

    /// 403 for a failed CSRF or origin check: JSON below `/api/`, plain text elsewhere.
    static func forbidden(path: String) -> Response {
        if path.hasPrefix(WebAuthNames.apiPrefix) { return json(error: "forbidden", status: .forbidden) }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: .forbidden, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: "403 Forbidden\n")))
    }
}
