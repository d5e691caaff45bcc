import Foundation
import HTTPTypes
import MailBridge
import ServiceLifecycle
import Testing
import ThreadStore

/// Issue 25, item 3: every response of the gateway's real `WebServer` over loopback carries the security headers,
/// including those the HTTP layer writes itself before any route or middleware runs (the parser's 400 for an
/// oversized header field, too many fields, a malformed request line or a broken chunk), and the router's own
/// 404, 405, 413 and request decode errors.
@Suite(.serialized) struct HTTPErrorHeadersTests {
    /// The fields every response must carry, with the value each must have (nil: any value).
    static let required: [(String, String?)] = [
        ("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer"), ("x-frame-options", "DENY"),
        ("cache-control", "no-store"), ("content-security-policy", nil),
    ]

    static func expectSecurityHeaders(_ response: RawHTTPResponse, _ label: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, value) in required {
            let present = response.fields[name]
            #expect(present != nil && (value == nil || present == value),
                    "\(label): \(name) is \(present ?? "missing") in \(response.statusLine)",
                    sourceLocation: sourceLocation)
        }
        if let policy = response.fields["content-security-policy"] {
            #expect(policy.contains("default-src 'none'"), "\(label): CSP \(policy)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyErrorOfTheHTTPLayerAndTheRouterCarriesTheSecurityHeaders() async throws {
        let harness = try await WebHarness()
        let (group, port) = try await BrowserInboxTests.startServer(harness)
        defer { Task { await group.triggerGracefulShutdown() } }
        let token = try #require(harness.api("berater")[.authorization])
        let cookie = try #require(harness.browser("berater")[.cookie])
        let thread = try await harness.importStoreThread(messages: 1).unredactedDescription
        let host = "Host: 127.0.0.1:\(port)"

        let cases: [(label: String, status: Int, head: [String], body: Int)] = [
            ("oversized Authorization header", 400,
             ["GET /api/v1/threads HTTP/1.1", host, "Authorization: Bearer " + String(repeating: "a", count: 20_000)],
             0),
            ("too many header fields", 400,
             ["GET /api/v1/threads HTTP/1.1", host] + (0..<150).map { "X-Filler-\($0): 1" }, 0),
            ("malformed request line", 400, ["THIS IS NOT HTTP", host], 0),
            ("broken chunk", 400,
             ["POST /api/v1/threads/\(thread)/replies HTTP/1.1", host, "Authorization: \(token)",
              "Content-Type: application/json", "Transfer-Encoding: chunked", "", "zz", "{}", "0"], 0),
            ("unknown API route", 404, ["GET /api/v1/no-such-route HTTP/1.1", host, "Authorization: \(token)"], 0),
            ("unknown page", 404, ["GET /no-such-page HTTP/1.1", host, "Cookie: \(cookie)"], 0),
            ("method not allowed", 405, ["DELETE /api/v1/threads HTTP/1.1", host, "Authorization: \(token)"], 0),
            ("body too large", 413,
             ["POST /api/v1/threads/\(thread)/replies HTTP/1.1", host, "Authorization: \(token)",
              "Content-Type: application/json", "Content-Length: \(8 << 20)"], 3 << 20),
            ("undecodable JSON", 400,
             ["POST /api/v1/threads/\(thread)/replies HTTP/1.1", host, "Authorization: \(token)",
              "Content-Type: application/json", "Content-Length: 5", "Connection: close", "", "{nope"], 0),
            ("anonymous API request", 401, ["GET /api/v1/threads HTTP/1.1", host], 0),
            ("the OpenAPI document", 200, ["GET /api/v1/openapi.json HTTP/1.1", host, "Connection: close"], 0),
        ]
        for item in cases {
            var head = item.head
            // A head that ends in an empty line already carries its body after it.
            if let blank = head.firstIndex(of: "") {
                let body = head[(blank + 1)...].joined(separator: "\r\n")
                head = Array(head[..<blank])
                head[head.count - 1] += "\r\n\r\n" + body
            }
            let response = try await RawHTTP.exchange(port: port, head, bodyBytes: item.body)
            #expect(response.status == item.status, "\(item.label): \(response.statusLine)")
            if item.status == 405 { #expect(response.fields["allow"] == "GET", "Allow: \(response.fields)") }
            Self.expectSecurityHeaders(response, item.label)
        }
    }
}
