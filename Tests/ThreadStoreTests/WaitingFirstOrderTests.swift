import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// The inbox's default order (issue 22): threads waiting for an answer first, the longest waiting at the top, then
/// every other thread by last activity; a thread the team just answered no longer jumps above waiting ones.
@Suite struct WaitingFirstOrderTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Six threads; thread n's client wrote at start + (10 - n) h. Thread 3 is answered last of all (the newest
    /// activity), thread 6 waits since start + 1 h but is closed, thread 7 is in the other field.
    static func importThreads(_ store: ThreadStore) async throws -> [ThreadID] {
        var threads: [ThreadID] = []
        for number in 0..<8 {
            let hours = number == 6 ? 1.0 : Double(10 - number)
            let field = number == 7 ? Sample.otherField : Sample.field
            let outcome = try await store.write { tx in
                try tx.importMessage(Sample.message("t\(number)", at: Self.start + hours * 3600),
                                     into: .client(Sample.identity(number + 1, field: field)))
            }
            threads.append(try #require(outcome.storedThread))
        }
        try await store.write { [threads] tx in
            _ = try tx.importMessage(Sample.message("reply", at: Self.start + 20 * 3600, direction: .outbound),
                                     into: .thread(threads[3]))
            try tx.setState(.closed, of: threads[6])
        }
        return threads
    }

    static func walk(_ store: ThreadStore, pageSize: Int, state: InboxState? = nil,
                     fields: Set<CounsellingField>? = [Sample.field]) async throws -> [ThreadID] {
        var seen: [ThreadID] = []
        var cursor: InboxCursor?
        repeat {
            let page = try await store.read { [cursor] in
                try $0.listInbox(fields: fields, state: state, order: .waitingFirst, limit: pageSize, after: cursor)
            }
            seen += page.map(\.id)
            // Through the text form, as the web page and the API pass it.
            cursor = try page.count == pageSize
                ? #require(page.last.map { InboxCursor(InboxCursor(after: $0, order: .waitingFirst).text) }) : nil
        } while cursor != nil && seen.count < 100
        return seen
    }

    @Test(arguments: [1, 2, 3, 5, 7, 50])
    func waitingThreadsComeFirstThenTheRestByActivity(pageSize: Int) async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let t = try await Self.importThreads(store)
        // Waiting, longest first: 5 (5 h), 4, 2, 1, 0 (10 h); then the answered 3 (activity 20 h) and the closed 6.
        #expect(try await Self.walk(store, pageSize: pageSize) == [t[5], t[4], t[2], t[1], t[0], t[3], t[6]])
        // By last activity the answered thread is on top: what this order is for.
        let byActivity = try await store.read { try $0.listInbox(fields: [Sample.field], order: .lastActivity) }
        #expect(byActivity.first?.id == t[3])
    }

    @Test func aNewClientMessageMovesAnAnsweredThreadBackAmongTheWaitingOnes() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let t = try await Self.importThreads(store)
        try await store.write { tx in
            _ = try tx.importMessage(Sample.message("again", at: Self.start + 21 * 3600), into: .thread(t[3]))
            // The team answers the longest waiting thread: it moves down to the rest, newest activity first.
            _ = try tx.importMessage(Sample.message("answer", at: Self.start + 22 * 3600, direction: .outbound),
                                     into: .thread(t[0]))
        }
        #expect(try await Self.walk(store, pageSize: 2) == [t[5], t[4], t[2], t[1], t[3], t[0], t[6]])
        // Filters still apply to both parts: only open ones ("new" is its own filter), all fields for a team lead.
        #expect(try await Self.walk(store, pageSize: 2, state: .closed) == [t[6]])
        #expect(try await Self.walk(store, pageSize: 3, fields: nil).count == 8)
    }

    @Test func cursorTextsKeepTheirPart() throws {
        let id = ThreadID.random()
        let answered = try #require(InboxCursor("a12.\(id.unredactedDescription)"))
        #expect(answered.inAnsweredPart && answered.lastActivityMilliseconds == 12 && answered.text.hasPrefix("a12."))
        let waiting = try #require(InboxCursor("12.\(id.unredactedDescription)"))
        #expect(!waiting.inAnsweredPart && waiting.text == "12.\(id.unredactedDescription)")
        for bad in ["aa12.\(id.unredactedDescription)", "a.\(id.unredactedDescription)", "b12.x", "a"] {
            #expect(InboxCursor(bad) == nil, "\(bad)")
        }
    }

    /// The waiting walk uses the waiting index in key order (no sort of all threads), with or without filters;
    /// the other walk costs what the last-activity list costs (the same index; a list over several fields sorts
    /// there as well).
    @Test func bothPartsWalkAnIndexWithoutSorting() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = ThreadID.random().unredactedDescription
        for part in [InboxQueries.Part.waiting, .notWaiting] {
            for fields in [nil, Set([Sample.field]), Set([Sample.field, Sample.otherField])] {
                for state in [nil, InboxState.open] {
                    let (sql, arguments) = InboxQueries.list(
                        fields: fields, state: state, assignment: nil, order: .waitingFirst, part: part, limit: 50,
                        after: InboxCursor("1.\(thread)"))
                    let (plain, plainArguments) = InboxQueries.list(
                        fields: fields, state: state, assignment: nil, order: .lastActivity, limit: 50,
                        after: InboxCursor("1.\(thread)"))
                    let (details, plainDetails) = try await store.read { tx in
                        let plan = { (sql: String, arguments: StatementArguments) in
                            try Row.fetchAll(tx.db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                                .map { $0["detail"] as String }
                        }
                        return (try plan(sql, arguments), try plan(plain, plainArguments))
                    }
                    let sorts = details.contains { $0.contains("TEMP B-TREE") }
                    if part == .waiting {
                        #expect(details.contains { $0.contains("INDEX thread_by_waiting") }, "\(details)")
                        #expect(!sorts, "\(details)")
                    } else {
                        #expect(details.first == plainDetails.first, "\(details) vs \(plainDetails)")
                        #expect(sorts == plainDetails.contains { $0.contains("TEMP B-TREE") }, "\(details)")
                        if fields?.count != 2 { #expect(!sorts, "\(details)") }
                    }
                }
            }
        }
    }
}
