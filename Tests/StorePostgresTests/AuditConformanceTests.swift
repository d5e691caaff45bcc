import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The audit log read back (``AuditLogStore``, `mailbridge audit`) on SQLite (``ThreadStoreAuditLog``) and on
/// PostgreSQL (``PostgresThreads``, also under the gateway's role): the same operations leave the same entries,
/// and every filter (limit, before, since, thread, account, and their combinations) selects the same ones, the
/// newest first and returned oldest first (issue 21). `AuditCommandEnginesTests` (MailBridgeTests) checks the
/// command's printing; this suite checks the seam.
@Suite struct AuditConformanceTests {
    static let engines = SeamEngineUnderTest.engines
    static let anna = AccountID.makeRandom()
    static let bert = AccountID.makeRandom()
    let t0 = ImportEngines.start

    /// One entry without its sequence number: `event +seconds thread item count actor channel`, the engine's
    /// random thread IDs named by `threads`, a random item ID (a message's) as `<id>`.
    func shape(_ entry: AuditEntry, _ threads: [ThreadID: String]) -> String {
        let item = entry.itemID.map { $0.count == 32 && $0.allSatisfy(\.isHexDigit) ? "<id>" : $0 }
        return [String(describing: entry.event), "+\(Int(entry.at.timeIntervalSince(t0)))",
                entry.thread.map { threads[$0] ?? "T?" } ?? "-", item ?? "-", entry.count.map(String.init) ?? "-",
                entry.actor.map { $0 == Self.anna ? "anna" : $0 == Self.bert ? "bert" : "A?" } ?? "-",
                entry.channel.map { "\($0)" } ?? "-"].joined(separator: " ")
    }

    /// Two clients' threads, anna reading and deleting the first, bert closing the second from the command line,
    /// a rejected message deleted: one minute apart each.
    func operate(_ engine: SeamEngineUnderTest) async throws -> [ThreadID: String] {
        var threads: [ThreadID: String] = [:]
        for client in 1...2 {
            let outcome = try await engine.importer.importMessage(
                ImportEngines.message("a\(client)", at: engine.clock.now), into: .client(ImportEngines.identity(client)))
            let thread = try #require(outcome.storedThread)
            threads[thread] = "T\(client)"
            engine.clock.advance(by: 60)
        }
        let first = try #require(threads.first { $0.value == "T1" }?.key)
        let second = try #require(threads.first { $0.value == "T2" }?.key)
        let anna = InboxActor(account: Self.anna, channel: .browser, scope: .everyField)
        _ = try await engine.inbox.openThread(first, page: MessagePageRequest(), by: anna, event: .threadViewed)
        engine.clock.advance(by: 60)
        let bert = InboxActor(account: Self.bert, channel: .commandLine, scope: .everyField)
        _ = try await engine.inbox.setState(.closed, of: second, by: bert)
        engine.clock.advance(by: 60)
        #expect(try await engine.importer.keepRejected(RejectedMessage(
            id: "Q1", reason: 4, rejectedAt: engine.clock.now, envelope: Data("{}".utf8), message: Data("x".utf8))))
        #expect(try await engine.rejected.deleteRejected("Q1", reinjected: false))
        engine.clock.advance(by: 60)
        try await engine.inbox.deleteThread(first, by: anna)
        return threads
    }

    @Test(arguments: engines)
    func theSameOperationsLeaveTheSameEntries(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let threads = try await operate(engine)
        let all = try await engine.audit.latestAuditEntries(AuditFilter(), limit: 10_000)
        #expect(all.map { shape($0, threads) } == [
            "threadCreated +0 T1 - - - -", "messageStored +0 T1 <id> - - -",
            "threadCreated +60 T2 - - - -", "messageStored +60 T2 <id> - - -",
            "threadViewed +120 T1 <id> 1 anna browser",
            "threadStateChanged +180 T2 - \(ThreadState.closed.rawValue) bert command-line",
            "rejectedMessageDeleted +240 - Q1 - - -",
            "threadDeleted +300 T1 - - anna browser",
        ], "\(name): \(all.map { shape($0, threads) })")
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.sequence < $1.sequence }, "\(name): oldest first")
    }

    @Test(arguments: engines)
    func everyFilterSelectsTheSameEntries(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let threads = try await operate(engine)
        let audit = engine.audit
        let all = try await audit.latestAuditEntries(AuditFilter(), limit: 10_000)
        try #require(all.count == 8, "\(name)")
        let first = try #require(threads.first { $0.value == "T1" }?.key)
        let second = try #require(threads.first { $0.value == "T2" }?.key)
        let unknownThread = try ThreadID(String(repeating: "a", count: 32))
        /// The filter as the model: the matching entries of `all`, the newest `limit`.
        func expected(_ filter: AuditFilter, limit: Int) -> [AuditEntry] {
            Array(all.filter { entry in
                (filter.thread.map { entry.thread == $0 } ?? true) && (filter.actor.map { entry.actor == $0 } ?? true)
                    && (filter.since.map { entry.at >= $0 } ?? true)
                    && (filter.before.map { entry.sequence < $0 } ?? true)
            }.suffix(max(0, limit)))
        }
        let minute: TimeInterval = 60
        let filters: [(String, AuditFilter, Int, Int)] = [  // label, filter, limit, how many the model gives
            ("newest two", AuditFilter(), 2, 2),
            ("limit 0", AuditFilter(), 0, 0),
            ("negative limit", AuditFilter(), -3, 0),
            ("limit over 10 000", AuditFilter(), 20_000, 8),
            ("before the newest", AuditFilter(before: all[7].sequence), 100, 7),
            ("one before the newest", AuditFilter(before: all[7].sequence), 1, 1),
            ("before the oldest", AuditFilter(before: all[0].sequence), 100, 0),
            ("since an entry's time", AuditFilter(since: t0.addingTimeInterval(2 * minute)), 100, 4),
            ("since just after it", AuditFilter(since: t0.addingTimeInterval(2 * minute + 1)), 100, 3),
            ("since later than all", AuditFilter(since: t0.addingTimeInterval(86_400)), 100, 0),
            ("thread 1 (deleted)", AuditFilter(thread: first), 100, 4),
            ("thread 2", AuditFilter(thread: second), 100, 3),
            ("thread 2, newest", AuditFilter(thread: second), 1, 1),
            ("an unknown thread", AuditFilter(thread: unknownThread), 100, 0),
            ("anna", AuditFilter(actor: Self.anna), 100, 2),
            ("bert", AuditFilter(actor: Self.bert), 100, 1),
            ("an unknown account", AuditFilter(actor: .makeRandom()), 100, 0),
            ("thread 1 and anna", AuditFilter(thread: first, actor: Self.anna), 100, 2),
            ("thread 2 and anna", AuditFilter(thread: second, actor: Self.anna), 100, 0),
            ("since and before", AuditFilter(since: t0.addingTimeInterval(minute), before: all[6].sequence), 100, 4),
        ]
        for (label, filter, limit, count) in filters {
            let found = try await audit.latestAuditEntries(filter, limit: limit)
            #expect(found == expected(filter, limit: limit) && found.count == count,
                    "\(name), \(label): \(found.map { shape($0, threads) })")
        }
        // Paging back with `before`, two at a time, walks the whole log once.
        var pages: [[AuditEntry]] = []
        var before: Int64?
        while true {
            let page = try await audit.latestAuditEntries(AuditFilter(before: before), limit: 2)
            guard let oldest = page.first, pages.count < 10 else { break }
            pages.append(page)
            before = oldest.sequence
        }
        #expect(pages.reversed().flatMap { $0 } == all && pages.count == 4, "\(name)")
    }
}
