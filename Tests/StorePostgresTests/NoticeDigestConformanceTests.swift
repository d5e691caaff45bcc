import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The digest pass (``NoticeDigestStore``) on SQLite and on PostgreSQL (also under the gateway's role), with the
/// same counters, targets, queued items and audit rows (issue 21).
@Suite struct NoticeDigestConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start

    /// A pass's result as `[queued, dropped]`.
    func pass(_ engine: InboxEngineUnderTest, at time: Date,
              _ rule: @escaping @Sendable ([DueNoticeCount]) throws -> NoticeDigestPlan = Self.rule) async throws
        -> [Int]
    {
        let done = try await digests(engine).queueDueDigests(now: time, plan: rule)
        return [done.queued, done.dropped]
    }

    func digests(_ engine: InboxEngineUnderTest) -> any NoticeDigestStore {
        if let sqlite = engine.inbound.keepAlive as? SQLiteImport { return ThreadStoreNoticeDigests(sqlite.threads.store) }
        return (engine.inbound.keepAlive as! PostgresImportNodes).threads[1]
    }

    /// The test's rule: one digest per recipient (team address or the account's target), counting its messages;
    /// an account without a target is dropped.
    static let rule: @Sendable ([DueNoticeCount]) throws -> NoticeDigestPlan = { due in
        var plan = NoticeDigestPlan()
        var groups: [String: [PendingNoticeCount]] = [:]
        for entry in due {
            switch entry.count.recipient {
            case .team: groups["team@example.org", default: []].append(entry.count)
            case .account:
                guard let address = entry.target?.address else {
                    plan.dropped.append(entry.count)
                    continue
                }
                groups[address.unredactedDescription, default: []].append(entry.count)
            }
        }
        for (address, counts) in groups.sorted(by: { $0.key < $1.key }) {
            let messages = counts.reduce(0) { $0 + $1.count }
            plan.digests.append(NoticeDigestPlan.Digest(
                item: NewOutboxItem(thread: nil, kind: .notification, recipient: try ClientAddress(address),
                                    payload: Array("\(messages) new".utf8), notBefore: ImportEngines.start),
                messages: messages, counts: counts))
        }
        return plan
    }

    @Test(arguments: engines)
    func dueCountersBecomeOneDigestPerRecipientOnce(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let anna = try await engine.webState.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: nil)
        try await engine.inbox.setNotificationSettings(
            NotificationSettings(address: try ClientAddress("anna@example.net"), mode: .hourly), of: anna,
            actor: anna, via: .browser)
        let store = engine.inbound.nodes[1]
        // Two messages of client 1 counted for the team; then its thread is anna's and a third counts for her.
        var thread: ThreadID?
        for id in ["m1", "m2", "m3"] {
            if id == "m3", let thread {
                _ = try await engine.inbox.assign(thread, to: anna, by: InboxActor(
                    account: anna, channel: .browser, scope: .everyField)) { _, _ in true }
            }
            let imported = try await store.importFromClient(InboundEngines.fromClient(
                ImportEngines.message(id), ImportEngines.identity(1), each: false, receipt: nil))
            thread = imported.outcome.storedThread ?? thread
        }
        #expect(try await engine.inbound.noticeCounts().count == 2, "\(name)")

        // Before the hour ends: nothing is due.
        #expect(try await pass(engine, at: t0) == [0, 0], "\(name)")
        // A rule that fails leaves every counter.
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await pass(engine, at: t0.addingTimeInterval(7200)) { _ in throw Refused() }
        }
        #expect(try await engine.inbound.noticeCounts().count == 2, "\(name)")
        #expect(try await pass(engine, at: t0.addingTimeInterval(7200)) == [2, 0], "\(name)")
        #expect(try await engine.inbound.noticeCounts().isEmpty, "\(name)")
        #expect(try await pass(engine, at: t0.addingTimeInterval(7200)) == [0, 0], "\(name)")
        let queued = "\(AuditEvent.noticeDigestQueued.rawValue)/"
        #expect(try await engine.accessAudit().filter { $0.hasPrefix(queued) }.sorted()
            == ["\(queued)1/I/-/-", "\(queued)2/I/-/-"], "\(name)")

        // A fourth message counts for anna; she removes her address before the pass: dropped, nothing queued.
        _ = try await store.importFromClient(InboundEngines.fromClient(
            ImportEngines.message("m4"), ImportEngines.identity(1), each: false, receipt: nil))
        try await engine.inbox.setNotificationSettings(NotificationSettings(address: nil, mode: .hourly), of: anna,
                                                       actor: anna, via: .browser)
        let counters = try await engine.inbound.noticeCounts()
        #expect(counters.count == 1 && counters[0].hasPrefix("1/"), "\(name): \(counters)")
        #expect(try await pass(engine, at: t0.addingTimeInterval(7200)) == [0, 1], "\(name)")
        #expect(try await engine.inbound.noticeCounts().isEmpty, "\(name)")
    }
}
