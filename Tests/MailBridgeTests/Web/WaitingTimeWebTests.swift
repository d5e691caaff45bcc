import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// The inbox list shows how long each thread's oldest unanswered message has waited and sorts by it, with paging;
/// the API lists the waiting-since time.
@Suite struct WaitingTimeWebTests {
    /// `hours.count` threads whose only message arrived that many hours (and ten minutes) ago, then one answered
    /// thread. Returns the waiting threads in the order of `hours`, and the answered one.
    static func importThreads(_ harness: WebHarness, hours: [Int]) async throws -> ([ThreadID], ThreadID) {
        let field = harness.pipe.mailbox.field
        let now = Date()
        return try await harness.store.write { tx in
            func thread(_ number: Int, at date: Date) throws -> ThreadID {
                let identity = ClientIdentity(field: field,
                                              key: try ClientKeyFingerprint(String(format: "%040X", 0xBEEF00 + number)),
                                              address: try ClientAddress("wartend\(number)@example.net"))
                let message = NewMessage(direction: .inbound,
                                         messageID: "<w\(number)-\(UUID().uuidString)@example.net>",
                                         subject: "Wartet \(number)", body: Array("Text".utf8), verdict: .valid,
                                         receivedAt: date)
                guard case .stored(let id, _, _) = try tx.importMessage(message, into: .client(identity)) else {
                    throw WebHarness.NotImported(outcome: "not stored")
                }
                return id
            }
            let waiting = try hours.enumerated().map { index, hours in
                try thread(index, at: now.addingTimeInterval(-Double(hours) * 3600 - 600))
            }
            let answered = try thread(1000, at: now.addingTimeInterval(-7200))
            let reply = NewMessage(direction: .outbound, messageID: "<answer-\(UUID().uuidString)@example.org>",
                                   subject: "Re", body: Array("Antwort".utf8), verdict: .notApplicable,
                                   receivedAt: now.addingTimeInterval(-3600))
            _ = try tx.importMessage(reply, into: .thread(answered))
            return (waiting, answered)
        }
    }

    /// The waiting cells of a list page, in order.
    static func waitingCells(_ html: String) -> [String] {
        html.components(separatedBy: "<td class=\"number waiting\"").dropFirst()
            .map { String($0.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" }) }
    }

    @Test func theListShowsWaitingTimesAndSortsByThemAcrossPages() async throws {
        let harness = try await WebHarness()
        let hours = Array(1...52).shuffled()
        let (waiting, answered) = try await Self.importThreads(harness, hours: hours)
        try await harness.test { client in
            let list = try await client.execute(uri: "/threads?order=activity", method: .get,
                                                headers: harness.browser("berater"))
            #expect(list.status == .ok)
            let cells = Self.waitingCells(list.text)
            #expect(cells.count == 50)
            #expect(list.text.contains("<th scope=\"col\" title=\"Wartezeit der ältesten unbeantworteten Nachricht\">"
                                       + "Wartet seit</th>"))
            #expect(list.text.contains("<option value=\"waiting\">Unbeantwortete, längste Wartezeit zuerst</option>"))
            // Newest activity first: the answered thread (activity an hour ago) is near the top and shows "—".
            #expect(cells.contains("—"))

            let sorted = try await client.execute(uri: "/threads?order=waiting", method: .get,
                                                  headers: harness.browser("berater"))
            #expect(sorted.status == .ok)
            let first = Self.waitingCells(sorted.text)
            let expected = (1...52).reversed().map { $0 >= 48 ? "\($0 / 24) Tage" : "\($0) h" }
            #expect(first == Array(expected.prefix(50)))
            #expect(sorted.text.contains("<option value=\"waiting\" selected>"))
            let longest = waiting[hours.firstIndex(of: 52)!]
            #expect(sorted.text.contains(longest.unredactedDescription))
            #expect(!sorted.text.contains(answered.unredactedDescription))
            let next = try InboxPagingWebTests.link(sorted.text, containing: "rel=\"next\"")
            #expect(next.contains("order=waiting"))
            let second = try await client.execute(uri: next, method: .get, headers: harness.browser("berater"))
            #expect(Self.waitingCells(second.text) == ["2 h", "1 h"])
            #expect(!second.text.contains("rel=\"next\""))

            let bad = try await client.execute(uri: "/threads?order=CANARY", method: .get,
                                               headers: harness.browser("berater"))
            #expect(bad.status == .badRequest && !bad.text.contains("CANARY"))

            // The API: waitingSince on waiting threads, absent on answered ones; the same order with paging.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = "/api/v1/threads?order=waiting&limit=20" + (cursor.map { "&cursor=\($0)" } ?? "")
                let body = try APITests.json(try await client.execute(uri: query, method: .get,
                                                                      headers: harness.api("berater")))
                let threads = (body["threads"] as? [[String: Any]]) ?? []
                #expect(threads.allSatisfy { $0["waitingSince"] is String })
                seen += threads.compactMap { $0["id"] as? String }
                cursor = body["nextCursor"] as? String
            } while cursor != nil
            let byAge = hours.enumerated().sorted { $0.element > $1.element }
                .map { waiting[$0.offset].unredactedDescription }
            #expect(seen == byAge)
            let all = try APITests.json(try await client.execute(uri: "/api/v1/threads?limit=200", method: .get,
                                                                 headers: harness.api("berater")))
            let answeredEntry = ((all["threads"] as? [[String: Any]]) ?? [])
                .first { $0["id"] as? String == answered.unredactedDescription }
            #expect(answeredEntry != nil && answeredEntry?["waitingSince"] == nil)
            let openAPI = try await client.execute(uri: "/api/v1/openapi.json", method: .get,
                                                  headers: harness.api("berater"))
            #expect(openAPI.text.contains("\"waitingSince\"") && openAPI.text.contains("\"waiting\""))
        }
        await harness.pipe.close()
    }
}
