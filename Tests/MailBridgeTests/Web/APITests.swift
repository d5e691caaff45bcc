import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// The JSON API through Hummingbird's router test client over real parts.
@Suite struct APITests {
    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test func listGetReplyStateAndAssignment() async throws {
        let harness = try await WebHarness()
        let canary = InboxPageTests.canary()
        let thread = try await harness.importClientMail(inner: """
            Content-Type: multipart/alternative; boundary="b"
            Subject: Frage \(canary)

            --b
            Content-Type: text/plain; charset=utf-8

            Text \(canary)-plain
            --b
            Content-Type: text/html; charset=utf-8

            <b>\(canary)-html</b>
            --b--
            """)
        let foreign = try await harness.importForeignThread(canary: canary)
        let id = thread.unredactedDescription
        let me = harness.counsellor("berater")
        try await harness.test { client in
            let list = try await client.execute(uri: "/api/v1/threads?state=new", method: .get,
                                                headers: harness.api("berater"))
            #expect(list.status == .ok && list.headers[.contentType] == "application/json")
            InboxPageTests.expectSecurityHeaders(list, "API list")
            let threads = try #require(try Self.json(list)["threads"] as? [[String: Any]])
            #expect(threads.map { $0["id"] as? String } == [id])
            #expect(threads[0]["state"] as? String == "new" && threads[0]["unreadCount"] as? Int == 1)
            #expect(!list.text.contains(canary))

            let got = try await client.execute(uri: "/api/v1/threads/\(id)", method: .get,
                                               headers: harness.api("berater"))
            #expect(got.status == .ok)
            let body = try Self.json(got)
            let messages = try #require(body["messages"] as? [[String: Any]])
            #expect(messages.count == 1)
            #expect((messages[0]["text"] as? String)?.contains("\(canary)-plain") == true)
            #expect(!got.text.contains("\(canary)-html"), "HTML parts are withheld")
            #expect((messages[0]["withheldParts"] as? [[String: Any]])?.first?["mediaType"] as? String == "text/html")
            #expect(messages[0]["signature"] as? String == "valid")
            #expect(messages[0]["subject"] as? String == "Frage \(canary)")

            let reply = try await client.execute(uri: "/api/v1/threads/\(id)/replies", method: .post,
                                                 headers: harness.api("berater", json: true),
                                                 body: ByteBuffer(string: #"{"text": "Antwort über die API"}"#))
            #expect(reply.status == .created)
            #expect(try Self.json(reply)["outcome"] as? String == "queued")

            let state = try await client.execute(uri: "/api/v1/threads/\(id)/state", method: .put,
                                                 headers: harness.api("berater", json: true),
                                                 body: ByteBuffer(string: #"{"state": "closed"}"#))
            let stateBody = try Self.json(state)
            #expect(state.status == .ok && stateBody["state"] as? String == "closed")

            let assign = try await client.execute(uri: "/api/v1/threads/\(id)/assignment", method: .put,
                                                  headers: harness.api("berater", json: true),
                                                  body: ByteBuffer(string: #"{"assignedTo": "\#(me.id.unredactedDescription)"}"#))
            let assignBody = try Self.json(assign)
            #expect(assign.status == .ok && assignBody["assignedTo"] as? String == me.id.unredactedDescription)
            // A counsellor cannot assign to someone else; a team lead can.
            let lead = harness.counsellor("leitung").id.unredactedDescription
            let other = try await client.execute(uri: "/api/v1/threads/\(id)/assignment", method: .put,
                                                 headers: harness.api("berater", json: true),
                                                 body: ByteBuffer(string: #"{"assignedTo": "\#(lead)"}"#))
            #expect(other.status == .forbidden)
            let byLead = try await client.execute(uri: "/api/v1/threads/\(id)/assignment", method: .put,
                                                  headers: harness.api("leitung", json: true),
                                                  body: ByteBuffer(string: #"{"assignedTo": null}"#))
            let byLeadBody = try Self.json(byLead)
            #expect(byLead.status == .ok && byLeadBody["assignedTo"] == nil && byLeadBody["id"] as? String == id)

            // Paging: the foreign thread is the lead's second one.
            let first = try await client.execute(uri: "/api/v1/threads?limit=1", method: .get,
                                                 headers: harness.api("leitung"))
            let cursor = try #require(try Self.json(first)["nextCursor"] as? String)
            let second = try await client.execute(uri: "/api/v1/threads?limit=1&cursor=\(cursor)", method: .get,
                                                  headers: harness.api("leitung"))
            let rest = try #require(try Self.json(second)["threads"] as? [[String: Any]])
            let secondBody = try Self.json(second)
            #expect(rest.count == 1 && secondBody["nextCursor"] == nil)
            let ids = [(try Self.json(first)["threads"] as? [[String: Any]])?.first?["id"] as? String,
                       rest.first?["id"] as? String]
            #expect(Set(ids.compactMap { $0 }) == [id, foreign.unredactedDescription])
        }
        let audit = try await harness.store.read { try $0.auditEntries() }.filter { $0.actor == me.id }
        // The reply assigned the unassigned thread to its author (`assign-on-reply`, issue 22).
        #expect(audit.map(\.event) == [.threadExported, .threadStateChanged, .replyQueued, .threadAssigned,
                                       .threadStateChanged, .threadAssigned])
        // Each entry names the token that was used (not just "the API").
        let token = try #require(try await harness.store.read { try $0.apiTokens() }.first { $0.username == "berater" })
        #expect(audit.allSatisfy { $0.channel == .apiToken(token.id) })
        #expect(!(try await harness.auditTableDump()).contains(canary))
        await harness.pipe.close()
    }

    @Test func errorsAreJSONWithoutContent() async throws {
        let harness = try await WebHarness()
        let canary = InboxPageTests.canary()
        let thread = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nText \(canary)\n")
        let foreign = try await harness.importForeignThread(canary: canary)
        let id = thread.unredactedDescription
        try await harness.test { client in
            func expectProblem(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String,
                               fromAuthentication: Bool = false,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
                #expect(response.status == status, sourceLocation: sourceLocation)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true,
                        sourceLocation: sourceLocation)
                let body = try Self.json(response)
                #expect(body["error"] as? String == code, sourceLocation: sourceLocation)
                // The authentication middleware answers with the code only; the API routes add a fixed message.
                #expect(fromAuthentication || body["message"] is String, sourceLocation: sourceLocation)
                #expect(!response.text.contains(canary), sourceLocation: sourceLocation)
                InboxPageTests.expectSecurityHeaders(response, "API error \(code)", sourceLocation: sourceLocation)
            }
            let anonymous = try await client.execute(uri: "/api/v1/threads", method: .get, headers: [:])
            try expectProblem(anonymous, .unauthorized, "unauthenticated", fromAuthentication: true)
            #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
            let wrongToken = try await client.execute(uri: "/api/v1/threads/\(id)", method: .get,
                                                      headers: [.authorization: "Bearer mbt_\(canary)"])
            try expectProblem(wrongToken, .unauthorized, "unauthenticated", fromAuthentication: true)
            try expectProblem(try await client.execute(uri: "/api/v1/threads/\(foreign.unredactedDescription)",
                                                       method: .get, headers: harness.api("berater")),
                              .notFound, "not_found")
            try expectProblem(try await client.execute(uri: "/api/v1/threads/zzz", method: .get,
                                                       headers: harness.api("berater")),
                              .notFound, "not_found")
            try expectProblem(try await client.execute(uri: "/api/v1/no/such/\(canary)", method: .get,
                                                       headers: harness.api("berater")),
                              .notFound, "not_found")
            try expectProblem(try await client.execute(uri: "/api/v1/threads?state=\(canary)", method: .get,
                                                       headers: harness.api("berater")),
                              .badRequest, "bad_parameter")
            try expectProblem(try await client.execute(uri: "/api/v1/threads?limit=100000", method: .get,
                                                       headers: harness.api("berater")),
                              .badRequest, "bad_parameter")
            let replies = "/api/v1/threads/\(id)/replies"
            try expectProblem(try await client.execute(uri: replies, method: .post,
                                                       headers: harness.api("berater", json: true),
                                                       body: ByteBuffer(string: #"{"text": "\#(canary)"#)),
                              .badRequest, "bad_request")
            try expectProblem(try await client.execute(uri: replies, method: .post, headers: harness.api("berater"),
                                                       body: ByteBuffer(string: #"{"text": "\#(canary)"}"#)),
                              .unsupportedMediaType, "unsupported_media_type")
            try expectProblem(try await client.execute(uri: replies, method: .post,
                                                       headers: harness.api("berater", json: true),
                                                       body: ByteBuffer(string: #"{"text": "   "}"#)),
                              .unprocessableContent, "unprocessable")
            let huge = "{\"text\": \"\(String(repeating: "x", count: 3 << 20))\"}"
            try expectProblem(try await client.execute(uri: replies, method: .post,
                                                       headers: harness.api("berater", json: true),
                                                       body: ByteBuffer(string: huge)),
                              .contentTooLarge, "payload_too_large")
            try expectProblem(try await client.execute(uri: "/api/v1/threads/\(id)/state", method: .put,
                                                       headers: harness.api("berater", json: true),
                                                       body: ByteBuffer(string: #"{"state": "\#(canary)"}"#)),
                              .unprocessableContent, "unprocessable")
            try expectProblem(try await client.execute(
                uri: "/api/v1/threads/\(foreign.unredactedDescription)/state", method: .put,
                headers: harness.api("berater", json: true), body: ByteBuffer(string: #"{"state": "closed"}"#)),
                              .notFound, "not_found")
            // A browser session's PUT without the CSRF token never reaches the route (the CSRF middleware answers);
            // with the session's token in X-CSRF-Token it does.
            let session = harness.browser("berater")
            var noCSRF = session
            noCSRF[.contentType] = "application/json"
            try expectProblem(try await client.execute(uri: "/api/v1/threads/\(id)/state", method: .put,
                                                       headers: noCSRF,
                                                       body: ByteBuffer(string: #"{"state": "closed"}"#)),
                              .forbidden, "forbidden", fromAuthentication: true)
            #expect(try await harness.store.read { try $0.inboxThread(thread) }?.summary.state == .open)
            var withCSRF = noCSRF
            withCSRF[HTTPFields.Element.Name(WebAuthNames.csrfHeader)!] = harness.csrf("berater")
            let sessionPut = try await client.execute(uri: "/api/v1/threads/\(id)/state", method: .put,
                                                      headers: withCSRF, body: ByteBuffer(string: #"{"state": "closed"}"#))
            #expect(sessionPut.status == .ok)
            let sessionGet = try await client.execute(uri: "/api/v1/threads", method: .get, headers: session)
            #expect(sessionGet.status == .ok)
        }
        #expect(try await harness.store.read { try $0.inboxThread(thread) }?.summary.state == .closed)
        #expect(try await harness.pipe.outbox().filter { $0.kind == .counsellorReply }.isEmpty)
        for line in harness.pipe.logs.all { #expect(!line.contains(canary), "canary in a log line") }
        await harness.pipe.close()
    }

    @Test func openAPIDocumentParsesAndListsExactlyTheRegisteredRoutes() async throws {
        let harness = try await WebHarness()
        let registeredRoutes = harness.router().routes.map { "\($0.method) \($0.path)" }
        try await harness.test { client in
            let response = try await client.execute(uri: "/api/v1/openapi.json", method: .get,
                                                    headers: harness.api("berater"))
            #expect(response.status == .ok)
            let document = try Self.json(response)
            #expect(document["openapi"] as? String == "3.1.0")
            let servers = try #require(document["servers"] as? [[String: Any]])
            let base = try #require(servers.first?["url"] as? String)
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let documented = Set(paths.flatMap { path, operations in
                operations.keys.map { "\($0.uppercased()) \(base)\(path)" }
            })
            let registered = Set(registeredRoutes
                .map { $0.replacingOccurrences(of: " //", with: " /") }
                .filter { $0.contains(" \(base)/") })
            #expect(!registered.isEmpty)
            #expect(documented == registered)
            // Every $ref resolves.
            let text = response.text
            let components = try #require(document["components"] as? [String: [String: Any]])
            for match in text.components(separatedBy: "\"$ref\": \"#/components/").dropFirst() {
                let reference = match.prefix { $0 != "\"" }.split(separator: "/").map(String.init)
                #expect(reference.count == 2 && components[reference[0]]?[reference[1]] != nil, "\(reference)")
            }
            // The webhook request (issue 29) is described with the event names the gateway sends.
            let webhooks = try #require(document["webhooks"] as? [String: [String: Any]])
            #expect(webhooks["threadEvent"]?["post"] != nil)
            let schemas = try #require(components["schemas"] as? [String: [String: Any]])
            let properties = try #require(schemas["WebhookEvent"]?["properties"] as? [String: [String: Any]])
            #expect(properties["type"]?["enum"] as? [String] == WebhookEventType.allCases.map(\.name))
        }
        await harness.pipe.close()
    }
}
