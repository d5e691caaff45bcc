import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// Message pages of a long thread and the assignment filter, in the HTML inbox and the JSON API.
@Suite struct InboxPagingWebTests {
    static func count(_ html: String, _ needle: String) -> Int { html.components(separatedBy: needle).count - 1 }

    /// The value of the first `href` holding `marker`, HTML entities of `&` undone.
    static func link(_ html: String, containing marker: String) throws -> String {
        let at = try #require(html.range(of: marker))
        let start = try #require(html.range(of: "href=\"", options: .backwards, range: html.startIndex..<at.lowerBound))
        let end = try #require(html.range(of: "\"", range: start.upperBound..<html.endIndex))
        return String(html[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
    }

    static func subjects(_ html: String) -> [String] {
        html.components(separatedBy: "<dd class=\"subject\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    @Test func aLongThreadShowsItsNewestPageWithLinksToEarlierAndLaterMessages() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importStoreThread(messages: 120)
        let base = "/threads/\(thread.unredactedDescription)"
        try await harness.test { client in
            let newest = try await client.execute(uri: base, method: .get, headers: harness.browser("berater"))
            #expect(newest.status == .ok)
            var html = newest.text
            #expect(Self.count(html, "<li class=\"message inbound\"") == 50)
            #expect(Self.subjects(html) == (70..<120).map { "Nachricht \($0)" })
            #expect(html.contains("Nachrichten 71–120 von 120"))
            #expect(html.contains("Frühere Nachrichten (70, davon 70 neu)"))
            #expect(html.contains("<nav class=\"pager\" aria-label=\"Seiten der Nachrichten\">"))
            #expect(!html.contains("rel=\"next\""), "no later page on the newest one")

            // Earlier: 21–70, with links both ways.
            let earlier = try Self.link(html, containing: "rel=\"prev\"")
            #expect(earlier.hasPrefix("\(base)?before=") && earlier.hasSuffix("#messages-heading"))
            html = try await client.execute(uri: earlier, method: .get, headers: harness.browser("berater")).text
            #expect(Self.subjects(html) == (20..<70).map { "Nachricht \($0)" })
            #expect(html.contains("Nachrichten 21–70 von 120"))
            // The first view marked only its page read: the earlier messages are still new, the later ones not.
            #expect(html.contains("Frühere Nachrichten (20, davon 20 neu)") && html.contains("Spätere Nachrichten (50)"))
            let later = try Self.link(html, containing: "rel=\"next\"")
            #expect(later.hasPrefix("\(base)?after="))
            html = try await client.execute(uri: try Self.link(html, containing: "rel=\"prev\""), method: .get,
                                            headers: harness.browser("berater")).text
            #expect(Self.subjects(html) == (0..<20).map { "Nachricht \($0)" })
            #expect(!html.contains("rel=\"prev\"") && html.contains("Nachrichten 1–20 von 120"))
            html = try await client.execute(uri: later, method: .get, headers: harness.browser("berater")).text
            #expect(Self.subjects(html) == (70..<120).map { "Nachricht \($0)" })

            // A cursor before the first message: an empty page that leads back to the newest messages.
            let empty = try await client.execute(uri: "\(base)?before=0.\(String(repeating: "0", count: 32))",
                                                 method: .get, headers: harness.browser("berater"))
            #expect(empty.status == .ok && Self.subjects(empty.text).isEmpty)
            #expect(empty.text.contains("Auf dieser Seite gibt es keine Nachrichten.")
                && empty.text.contains("<a href=\"\(base)#messages-heading\">Neueste Nachrichten</a>"))

            // Malformed or contradictory cursors: a 400 page that echoes nothing.
            let cursor = String(later.split(separator: "=")[1].prefix { $0 != "#" })
            let badQueries = ["before=zz", "after=1.\(String(repeating: "g", count: 32))",
                              "before=\(cursor)&after=\(cursor)", "before="]
            for query in badQueries {
                let bad = try await client.execute(uri: "\(base)?\(query)", method: .get,
                                                   headers: harness.browser("berater"))
                #expect(bad.status == .badRequest, "\(query)")
                #expect(!bad.text.contains("Nachricht "), "\(query)")
            }
        }
        // One audit entry per page view, none for the refused ones; each names the page's first message and how
        // many were shown.
        let views = try await harness.store.read { try $0.auditEntries() }.filter { $0.event == .threadViewed }
        #expect(views.count == 5 && views.allSatisfy { $0.thread == thread })
        #expect(views.map(\.count) == [50, 50, 20, 50, 0])
        #expect(views.map { $0.itemID != nil } == [true, true, true, true, false])
        #expect(views[0].itemID == views[3].itemID && views[0].itemID != views[1].itemID)
        // Every message was on a page that was shown: none is unread now.
        #expect(try await harness.store.read { try $0.inboxThread(thread) }?.summary.unreadCount == 0)
        await harness.pipe.close()
    }

    @Test func englishPagerTexts() async throws {
        let harness = try await WebHarness()
        let field = try CounsellingField(WebHarness.otherField)
        let thread = try await harness.importStoreThread(messages: 51, field: field)
        try await harness.test { client in
            let html = try await client.execute(uri: "/threads/\(thread.unredactedDescription)", method: .get,
                                                headers: harness.browser("fremd")).text
            #expect(html.contains("Messages 2–51 of 51") && html.contains("Earlier messages (1, 1 new)"))
            #expect(html.contains("aria-label=\"Message pages\""))
            let later = try await client.execute(uri: try Self.link(html, containing: "rel=\"prev\""), method: .get,
                                                 headers: harness.browser("fremd")).text
            #expect(later.contains("Later messages (50)") && later.contains(">Newest messages</a>"))
        }
        await harness.pipe.close()
    }

    @Test func theAPIPagesMessagesWithCursorsAndRejectsBadParameters() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importStoreThread(messages: 120)
        let uri = "/api/v1/threads/\(thread.unredactedDescription)"
        @Sendable func subjects(_ body: [String: Any]) -> [String] {
            ((body["messages"] as? [[String: Any]]) ?? []).compactMap { $0["subject"] as? String }
        }
        try await harness.test { client in
            let newest = try APITests.json(try await client.execute(uri: uri, method: .get,
                                                                    headers: harness.api("berater")))
            #expect(subjects(newest) == (70..<120).map { "Nachricht \($0)" })
            let page = try #require(newest["messagePage"] as? [String: Any])
            #expect(page["earlierCount"] as? Int == 70 && page["earlierUnreadCount"] as? Int == 70)
            #expect(page["laterCount"] as? Int == 0 && page["laterCursor"] == nil)
            let before = try #require(page["earlierCursor"] as? String)

            let older = try APITests.json(try await client.execute(uri: "\(uri)?before=\(before)&limit=200",
                                                                   method: .get, headers: harness.api("berater")))
            #expect(subjects(older) == (0..<70).map { "Nachricht \($0)" })
            let olderPage = try #require(older["messagePage"] as? [String: Any])
            #expect(olderPage["earlierCount"] as? Int == 0 && olderPage["earlierCursor"] == nil)
            #expect(olderPage["laterCount"] as? Int == 50 && olderPage["laterUnreadCount"] as? Int == 0)
            let after = try #require(olderPage["laterCursor"] as? String)
            let forward = try APITests.json(try await client.execute(uri: "\(uri)?after=\(after)&limit=7",
                                                                     method: .get, headers: harness.api("berater")))
            #expect(subjects(forward) == (70..<77).map { "Nachricht \($0)" })

            for (query, name) in [("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"),
                                  ("before=CANARY", "before"), ("after=1.CANARY", "after"),
                                  ("before=\(before)&after=\(after)", "before")] {
                let response = try await client.execute(uri: "\(uri)?\(query)", method: .get,
                                                        headers: harness.api("berater"))
                #expect(response.status == .badRequest, "\(query)")
                let body = try APITests.json(response)
                #expect(body["error"] as? String == "bad_parameter", "\(query)")
                #expect(body["message"] as? String == "Invalid query parameter '\(name)'.", "\(query)")
                #expect(!response.text.contains("CANARY") && !response.text.contains("Nachricht"))
            }
        }
        let exports = try await harness.store.read { try $0.auditEntries() }.filter { $0.event == .threadExported }
        #expect(exports.count == 3 && exports.allSatisfy { $0.thread == thread })
        await harness.pipe.close()
    }

    @Test func assignedToMeAndUnassignedFiltersInTheListAndTheAPI() async throws {
        let harness = try await WebHarness()
        let me = harness.counsellor("berater").id
        let lead = harness.counsellor("leitung").id
        var mine: [ThreadID] = []
        for _ in 0..<52 { mine.append(try await harness.importStoreThread(messages: 1)) }
        let theirs = try await harness.importStoreThread(messages: 1)
        let nobodys = try await harness.importStoreThread(messages: 1)
        try await harness.store.write { [mine] tx in
            for thread in mine { try tx.assign(thread, to: me, actor: me) }
            try tx.assign(theirs, to: lead, actor: lead)
        }
        let mineIDs = Set(mine.map(\.unredactedDescription))
        @Sendable func threadIDs(_ html: String) -> Set<String> {
            Set(html.components(separatedBy: "<a href=\"/threads/").dropFirst().map { String($0.prefix(32)) })
        }
        try await harness.test { client in
            let first = try await client.execute(uri: "/threads?assigned=me", method: .get,
                                                 headers: harness.browser("berater")).text
            #expect(first.contains("<option value=\"me\" selected>Mir zugewiesen</option>"))
            #expect(first.contains("<label for=\"assigned-filter\">Zuweisung</label>"))
            let next = try Self.link(first, containing: "rel=\"next\"")
            #expect(next.contains("&assigned=me"))
            let second = try await client.execute(uri: next, method: .get, headers: harness.browser("berater")).text
            let listed = threadIDs(first).union(threadIDs(second))
            #expect(threadIDs(first).count == 50 && threadIDs(second).count == 2 && listed == mineIDs)

            let none = try await client.execute(uri: "/threads?assigned=none", method: .get,
                                                headers: harness.browser("berater")).text
            #expect(threadIDs(none) == [nobodys.unredactedDescription])
            let all = try await client.execute(uri: "/threads?assigned=", method: .get,
                                               headers: harness.browser("berater")).text
            #expect(threadIDs(all).count == 50)
            let bad = try await client.execute(uri: "/threads?assigned=CANARY", method: .get,
                                               headers: harness.browser("berater"))
            #expect(bad.status == .badRequest && !bad.text.contains("CANARY"))

            // The API: the token's account, with paging.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = "/api/v1/threads?assigned=me&limit=20" + (cursor.map { "&cursor=\($0)" } ?? "")
                let body = try APITests.json(try await client.execute(uri: query, method: .get,
                                                                      headers: harness.api("berater")))
                seen += ((body["threads"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
                cursor = body["nextCursor"] as? String
            } while cursor != nil
            #expect(seen.count == 52 && Set(seen) == mineIDs)
            let leads = try APITests.json(try await client.execute(uri: "/api/v1/threads?assigned=me", method: .get,
                                                                   headers: harness.api("leitung")))
            #expect((leads["threads"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                == [theirs.unredactedDescription])
            let unassigned = try APITests.json(try await client.execute(
                uri: "/api/v1/threads?assigned=none", method: .get, headers: harness.api("berater")))
            #expect((unassigned["threads"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                == [nobodys.unredactedDescription])
            let wrong = try await client.execute(uri: "/api/v1/threads?assigned=CANARY", method: .get,
                                                 headers: harness.api("berater"))
            #expect(wrong.status == .badRequest && !wrong.text.contains("CANARY"))
            #expect(try APITests.json(wrong)["message"] as? String == "Invalid query parameter 'assigned'.")
        }
        await harness.pipe.close()
    }
}
