import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// The inbox list answers "who has waited longest?" by default (issue 22): waiting threads first, the longest
/// waiting at the top, answered ones after them; sortable by last activity instead.
@Suite struct WaitingFirstWebTests {
    /// The thread IDs of a list page's rows, in order.
    static func rowIDs(_ html: String) -> [String] {
        html.components(separatedBy: "<a href=\"/threads/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    @Test func theDefaultListPutsTheLongestWaitingFirstAndAnsweredThreadsAfterThem() async throws {
        let harness = try await WebHarness()
        // 52 waiting threads and one answered an hour ago (the newest activity of all).
        let hours = Array(1...52).shuffled()
        let (waiting, answered) = try await WaitingTimeWebTests.importThreads(harness, hours: hours)
        let byAge = hours.enumerated().sorted { $0.element > $1.element }
            .map { waiting[$0.offset].unredactedDescription }
        try await harness.test { client in
            let first = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("berater"))
            #expect(first.status == .ok)
            #expect(Self.rowIDs(first.text) == Array(byAge.prefix(50)))
            #expect(first.text.contains("<option value=\"waiting-first\" selected>"))
            // The next page carries a cursor (and no order: it is the default) and ends with the answered thread.
            let next = try InboxPagingWebTests.link(first.text, containing: "rel=\"next\"")
            #expect(next.hasPrefix("/threads?after=") && !next.contains("order="))
            let second = try await client.execute(uri: next, method: .get, headers: harness.browser("berater"))
            #expect(Self.rowIDs(second.text) == Array(byAge.suffix(2)) + [answered.unredactedDescription])
            #expect(WaitingTimeWebTests.waitingCells(second.text) == ["2 h", "1 h", "—"])

            // By last activity the answered thread is first; the pager keeps that order.
            let activity = try await client.execute(uri: "/threads?order=activity", method: .get,
                                                    headers: harness.browser("berater"))
            #expect(Self.rowIDs(activity.text).first == answered.unredactedDescription)
            #expect(activity.text.contains("<option value=\"activity\" selected>"))
            #expect(try InboxPagingWebTests.link(activity.text, containing: "rel=\"next\"").contains("order=activity"))

            // Closed threads are listed by last activity unless asked otherwise.
            let closed = try await client.execute(uri: "/threads?state=closed", method: .get,
                                                  headers: harness.browser("berater"))
            #expect(closed.status == .ok && closed.text.contains("<option value=\"activity\" selected>"))

            // The API offers the same order.
            let api = try APITests.json(try await client.execute(
                uri: "/api/v1/threads?order=waiting-first&limit=51", method: .get, headers: harness.api("berater")))
            let ids = ((api["threads"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            #expect(ids == Array(byAge.prefix(51)))
            let cursor = try #require(api["nextCursor"] as? String)
            let rest = try APITests.json(try await client.execute(
                uri: "/api/v1/threads?order=waiting-first&cursor=\(cursor)", method: .get,
                headers: harness.api("berater")))
            #expect(((rest["threads"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
                    == [byAge[51], answered.unredactedDescription])
        }
        await harness.pipe.close()
    }
}
