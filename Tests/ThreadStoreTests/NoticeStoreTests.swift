import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// Schema v12: notification addresses (sealed), digest counters, and the waiting time kept by triggers.
@Suite struct NoticeStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func waitingSinceIsTheOldestInboundMessageAfterTheLastOutboundOne() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let t = Self.start
        func waiting(_ thread: ThreadID) async throws -> Date? {
            try await store.read { try $0.inboxThread(thread)?.waitingSince }
        }
        let thread = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("a", at: t), into: .client(Sample.identity()))
        }.storedThread)
        #expect(try await waiting(thread) == t.truncatedToStoreMilliseconds)
        try await store.write { tx in
            _ = try tx.importMessage(Sample.message("b", at: t + 60), into: .thread(thread))
        }
        #expect(try await waiting(thread) == t.truncatedToStoreMilliseconds)  // still the oldest unanswered
        try await store.write { tx in
            _ = try tx.importMessage(Sample.message("r1", at: t + 120, direction: .outbound), into: .thread(thread))
        }
        #expect(try await waiting(thread) == nil)  // answered
        try await store.write { tx in
            _ = try tx.importMessage(Sample.message("c", at: t + 3600), into: .thread(thread))
            // A late import of a message older than the reply does not make the thread wait.
            _ = try tx.importMessage(Sample.message("old", at: t + 90), into: .thread(thread))
        }
        #expect(try await waiting(thread) == (t + 3600).truncatedToStoreMilliseconds)
        try await store.write { tx in
            _ = try tx.importMessage(Sample.message("d", at: t + 7200), into: .thread(thread))
            // A reply older than the newest inbound message answers only what came before it.
            _ = try tx.importMessage(Sample.message("r2", at: t + 5000, direction: .outbound), into: .thread(thread))
        }
        #expect(try await waiting(thread) == (t + 7200).truncatedToStoreMilliseconds)
    }

    @Test func theMigrationFillsWaitingSinceForExistingThreads() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let t = Self.start
        let (waiting, answered) = try await store.write { tx in
            let waiting = try tx.importMessage(Sample.message("a", at: t), into: .client(Sample.identity(1)))
            let answered = try tx.importMessage(Sample.message("b", at: t), into: .client(Sample.identity(2)))
            _ = try tx.importMessage(Sample.message("r", at: t + 1, direction: .outbound),
                                     into: .thread(answered.storedThread!))
            _ = try tx.importMessage(Sample.message("c", at: t + 2), into: .thread(waiting.storedThread!))
            return (waiting.storedThread!, answered.storedThread!)
        }
        // Forget the column as a pre-v12 store would have it, and run the migration's fill statement again.
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE thread SET waiting_since = 12345")
            try db.execute(sql: """
                UPDATE thread SET waiting_since = (
                    SELECT min(i.received_at) FROM message i
                    WHERE i.thread_id = thread.id AND i.direction = 0 AND i.received_at > coalesce(
                        (SELECT max(o.received_at) FROM message o WHERE o.thread_id = thread.id AND o.direction = 1),
                        -1))
                """)
        }
        #expect(try await store.read { try $0.inboxThread(waiting)?.waitingSince } == t.truncatedToStoreMilliseconds)
        #expect(try await store.read { try $0.inboxThread(answered)?.waitingSince } == nil)
    }

    @Test func longestWaitingOrderPagesThroughWaitingThreadsOnly() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        var threads: [ThreadID] = []
        // Thread n waits since start + (10 - n) hours: the last created waits longest. Thread 3 is answered.
        for number in 0..<6 {
            let outcome = try await store.write { tx in
                try tx.importMessage(Sample.message("t\(number)", at: Self.start + Double(10 - number) * 3600),
                                     into: .client(Sample.identity(number + 1)))
            }
            threads.append(try #require(outcome.storedThread))
        }
        try await store.write { [threads] tx in
            _ = try tx.importMessage(Sample.message("reply", at: Self.start + 20 * 3600, direction: .outbound),
                                     into: .thread(threads[3]))
        }
        var seen: [ThreadID] = []
        var cursor: InboxCursor?
        repeat {
            let page = try await store.read { [cursor] in
                try $0.listInbox(fields: [Sample.field], order: .longestWaiting, limit: 2, after: cursor)
            }
            seen += page.map(\.id)
            cursor = page.count == 2 ? page.last.map { InboxCursor(after: $0, order: .longestWaiting) } : nil
        } while cursor != nil
        #expect(seen == [threads[5], threads[4], threads[2], threads[1], threads[0]])
        // The text form round-trips (the web and the API pass it in URLs).
        let first = try await store.read { try $0.listInbox(fields: nil, order: .longestWaiting, limit: 1) }
        let text = InboxCursor(after: try #require(first.first), order: .longestWaiting).text
        let next = try await store.read { try $0.listInbox(fields: nil, order: .longestWaiting, limit: 1,
                                                            after: InboxCursor(text)) }
        #expect(next.map(\.id) == [threads[4]])
    }

    /// The longest-waiting list walks `thread_by_waiting` (no sort of all threads), with or without filters.
    @Test func longestWaitingPagesWalkTheWaitingIndexWithoutSorting() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = ThreadID.random().unredactedDescription
        for fields in [nil, Set([Sample.field]), Set([Sample.field, Sample.otherField])] {
            for state in [nil, InboxState.open] {
                for assignment in [nil, InboxAssignmentFilter.unassigned] {
                    let (sql, arguments) = InboxQueries.list(
                        fields: fields, state: state, assignment: assignment, order: .longestWaiting, limit: 50,
                        after: InboxCursor("1.\(thread)"))
                    let details = try await store.read { tx in
                        try Row.fetchAll(tx.db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                            .map { $0["detail"] as String }
                    }
                    #expect(details.contains { $0.contains("INDEX thread_by_waiting") }, "\(details)")
                    #expect(!details.contains { $0.contains("TEMP B-TREE") }, "\(details)")
                }
            }
        }
    }

    @Test func waitingCountsUseTheIndexAndSkipClosedThreads() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let now = Self.start + 100 * 3600
        var threads: [ThreadID] = []
        for (number, hoursAgo) in [10, 30, 50, 70, 90].enumerated() {
            let outcome = try await store.write { tx in
                try tx.importMessage(Sample.message("w\(number)", at: now - Double(hoursAgo) * 3600),
                                     into: .client(Sample.identity(number + 1)))
            }
            threads.append(try #require(outcome.storedThread))
        }
        try await store.write { [threads] tx in try tx.setState(.closed, of: threads[4]) }
        let counts = try await store.read { try $0.waitingThreadCounts(before: [now - 24 * 3600, now - 48 * 3600]) }
        #expect(counts == [3, 2])  // 30, 50, 70 h over 24; 50, 70 h over 48; the closed 90 h thread not at all
        let plan = try await store.read { tx in
            try Row.fetchAll(tx.db, sql: "EXPLAIN QUERY PLAN SELECT count(*) FROM thread INDEXED BY thread_by_waiting "
                             + "WHERE waiting_since IS NOT NULL AND waiting_since < 1 AND state <> 2")
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("COVERING INDEX thread_by_waiting") }, "\(plan)")
    }

    @Test func notificationAddressesAreSealedAndAudited() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let account = try InboxStoreTests.insertAccount(store, name: "anna")
        let canary = "canary-\(UUID().uuidString.prefix(8).lowercased())@staff.example"
        #expect(try await store.read { try $0.noticeTarget(of: account) } == nil)
        try await store.write { tx in
            try tx.setNotificationSettings(NotificationSettings(address: try ClientAddress(canary), mode: .hourly),
                                           of: account, actor: nil)
        }
        let target = try #require(try await store.read { try $0.noticeTarget(of: account) })
        #expect(target.address?.unredactedDescription == canary)
        #expect(target.mode == .hourly)
        #expect(!"\(target)".contains(canary))
        try await store.checkpoint()
        #expect(!fixture.filesContain(Data(canary.utf8)))
        let audit = try await store.read { try $0.latestAuditEntries(AuditFilter(), limit: 10) }
        #expect(audit.last?.event == .notificationSettingsChanged)
        #expect(audit.last?.count == NoticeMode.hourly.rawValue)
        // A disabled account is no notice target; clearing removes the address.
        try await store.write { tx in try tx.disableAccount(account, actor: nil) }
        #expect(try await store.read { try $0.noticeTarget(of: account) } == nil)
        try await store.write { tx in
            try tx.setNotificationSettings(NotificationSettings(address: nil), of: account, actor: nil)
        }
        #expect(try await store.read { try $0.notificationSettings(of: account) }?.address == nil)
        #expect(AuditEvent.notificationSettingsChanged.rawValue == 45)
        #expect(AuditEvent.noticeDigestQueued.rawValue == 46)
        #expect(NoticeMode.allCases.map(\.rawValue) == [0, 1, 2])
    }

    @Test func digestCountersCountPerWindowAndClearOnlyWhatWasRead() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let hour = Date(timeIntervalSince1970: 1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: 3600))
        let account = AccountID.random()
        try await store.write { tx in
            for minute in [1.0, 20, 59] {
                try tx.countNotice(for: .team(Sample.field), field: Sample.field, mode: .hourly,
                                   now: hour + minute * 60)
            }
            try tx.countNotice(for: .team(Sample.field), field: Sample.otherField, mode: .hourly, now: hour + 60)
            try tx.countNotice(for: .team(Sample.field), field: Sample.field, mode: .hourly, now: hour + 3700)
            try tx.countNotice(for: .account(account), field: Sample.field, mode: .daily, now: hour)
            #expect(throws: ThreadStoreError.invalidValue) {
                try tx.countNotice(for: .account(account), field: Sample.field, mode: .eachMessage, now: hour)
            }
        }
        #expect(try await store.read { try $0.dueNoticeCounts(now: hour + 3599) }.isEmpty)
        let due = try await store.read { try $0.dueNoticeCounts(now: hour + 3600) }
        #expect(due.map(\.count).sorted() == [1, 3])
        #expect(Set(due.map(\.field)) == [Sample.field, Sample.otherField])
        #expect(due.allSatisfy { $0.windowStart == hour && $0.windowEnd == hour + 3600 && $0.mode == .hourly })
        try await store.write { tx in try tx.clearNoticeCounts(due) }
        #expect(try await store.read { try $0.dueNoticeCounts(now: hour + 7200) }.map(\.count) == [1])
        let daily = try await store.read { try $0.dueNoticeCounts(now: hour + 86_400 * 2) }
        #expect(daily.contains { $0.recipient == .account(account) && $0.mode == .daily })
    }
}
