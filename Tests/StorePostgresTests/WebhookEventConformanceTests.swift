import Foundation
import TestSupport
import Testing
import ThreadStore

@testable import StorePostgres

/// The webhook outbox (``WebhookEventStore``, issue 29) on SQLite (``ThreadStoreWebhookEvents``) and on PostgreSQL
/// (``PostgresThreads``, also under the gateway's role), with the same answers: events are recorded by the store's
/// trigger in the audited transaction and only while subscribed, carry IDs only, and their leases, attempts,
/// retries, give-ups and pruning behave alike.
@Suite struct WebhookEventConformanceTests {
    static let engines = SeamEngineUnderTest.engines
    let t0 = ImportEngines.start

    /// What the events say, oldest first: `type thread-index message-index`, with IDs replaced by their position
    /// in `threads` and `messages` (IDs differ between engines).
    func shape(_ events: [WebhookEvent], threads: [ThreadID], messages: [StoredMessageID]) -> [String] {
        events.sorted { ($0.occurredAt, $0.type.rawValue) < ($1.occurredAt, $1.type.rawValue) }.map { event in
            let thread = event.thread.flatMap { threads.firstIndex(of: $0) }.map(String.init) ?? "-"
            let message = event.message.flatMap { messages.firstIndex(of: $0) }.map(String.init) ?? "-"
            return "\(event.type) t\(thread) m\(message)"
        }
    }

    @Test(arguments: engines)
    func eventsAreRecordedWithTheirChangeAndOnlyWhileSubscribed(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let hooks = engine.webhooks

        // No subscription: a new thread records nothing.
        _ = try await engine.importer.importMessage(ImportEngines.message("m0"), into: .client(ImportEngines.identity(9)))
        #expect(try await hooks.webhookEvents(state: nil, limit: 100).isEmpty, "\(name)")

        try await hooks.setWebhookSubscription(true, now: t0)
        try await hooks.setWebhookSubscription(true, now: t0)
        engine.clock.advance(by: 10)
        guard case .stored(let thread, let first, createdThread: true) = try await engine.importer.importMessage(
            ImportEngines.message("m1"), into: .client(ImportEngines.identity(1)))
        else { Issue.record("\(name): m1 not stored in a new thread"); return }
        engine.clock.advance(by: 10)
        // A message signed by a key the thread does not hold yet: a client message and a key change.
        guard case .stored(_, let second, createdThread: false) = try await engine.importer.importMessage(
            ImportEngines.message("m2", at: t0.addingTimeInterval(20), verdict: .unconfirmedKeyChange),
            into: .client(ImportEngines.identity(1)))
        else { Issue.record("\(name): m2 not stored"); return }
        // The same message again: nothing stored, nothing recorded.
        _ = try await engine.importer.importMessage(ImportEngines.message("m1"), into: .client(ImportEngines.identity(1)))
        engine.clock.advance(by: 10)
        // A reply delivered (sent) and a reply held for want of a usable key.
        let (_, reply) = try await engine.replies.commitReply(ReplyCommit(
            message: NewMessage(direction: .outbound, messageID: "<r1@example.org>", subject: "Re", body: [0x41],
                                verdict: .notApplicable, receivedAt: t0.addingTimeInterval(30)),
            item: NewOutboxItem(thread: thread, kind: .counsellorReply, recipient: try ClientAddress("c@example.org"),
                                payload: [0x42], notBefore: t0),
            thread: thread, actor: nil, channel: nil, keyUnusable: nil, assignToActor: false))
        engine.clock.advance(by: 10)
        try await engine.settle(.counsellorReply, true)
        engine.clock.advance(by: 10)
        let (_, held) = try await engine.replies.commitReply(ReplyCommit(
            message: NewMessage(direction: .outbound, messageID: "<r2@example.org>", subject: "Re", body: [0x41],
                                verdict: .notApplicable, receivedAt: t0.addingTimeInterval(50)),
            item: NewOutboxItem(thread: thread, kind: .notification, recipient: try ClientAddress("c@example.org"),
                                payload: [0x43], notBefore: t0),
            thread: thread, actor: nil, channel: nil, keyUnusable: 1, assignToActor: false))
        // A notice delivered is not a reply sent.
        try await engine.settle(.notification, true)

        let events = try await hooks.webhookEvents(state: nil, limit: 100)
        #expect(shape(events, threads: [thread], messages: [first, second, reply, held]) == [
            "thread.created t0 m-", "message.received t0 m0", "message.received t0 m1", "key.changed t0 m1",
            "reply.sent t0 m2", "reply.held t0 m3",
        ], "\(name): \(events)")
        #expect(events.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.lastStatus == nil }, "\(name)")
        #expect(Set(events.map(\.id)).count == events.count, "\(name): event IDs are distinct")
        #expect(events.first { $0.type == .threadCreated }?.occurredAt == t0.addingTimeInterval(10), "\(name)")
        #expect(events.allSatisfy { $0.nextAttemptAt == $0.occurredAt }, "\(name)")

        // Unsubscribed: the recorded events stay, new changes record nothing.
        try await hooks.setWebhookSubscription(false, now: t0)
        _ = try await engine.importer.importMessage(ImportEngines.message("m3"), into: .client(ImportEngines.identity(1)))
        #expect(try await hooks.webhookEvents(state: nil, limit: 100).count == events.count, "\(name)")
        #expect(try await hooks.webhookEventCounts() == [.pending: events.count], "\(name)")

        // Deleting the thread deletes its events.
        try await engine.inbox.deleteThread(thread, by: InboxActor(account: .makeRandom(), channel: .browser,
                                                                   scope: .everyField))
        #expect(try await hooks.webhookEvents(state: nil, limit: 100).isEmpty, "\(name)")
    }

    @Test(arguments: engines)
    func leasesAttemptsRetriesAndGiveUpsBehaveAlike(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let hooks = engine.webhooks
        try await hooks.setWebhookSubscription(true, now: t0)
        for number in 1...3 {
            engine.clock.advance(by: 1)
            _ = try await engine.importer.importMessage(
                ImportEngines.message("m\(number)"), into: .client(ImportEngines.identity(number)))
        }
        // Three threads, two events each: due from their time on, oldest first.
        #expect(try await hooks.leaseDueWebhookEvents(owner: "node-a", now: t0, lease: 60, limit: 10).isEmpty)
        let a = try await hooks.leaseDueWebhookEvents(owner: "node-a", now: t0.addingTimeInterval(100), lease: 60,
                                                      limit: 2)
        #expect(a.count == 2 && a.allSatisfy { $0.attempts == 1 }, "\(name): \(a)")
        #expect(a.map(\.type) == [.threadCreated, .messageReceived], "\(name): \(a)")
        // Leased rows are not handed out again while the lease runs.
        let b = try await hooks.leaseDueWebhookEvents(owner: "node-b", now: t0.addingTimeInterval(100), lease: 60,
                                                      limit: 10)
        #expect(b.count == 4 && Set(b.map(\.id)).isDisjoint(with: a.map(\.id)), "\(name)")

        // Only the lease holder settles, once.
        let at = t0.addingTimeInterval(101)
        #expect(try await !hooks.settleWebhookAttempt(a[0].id, owner: "node-b", outcome: .delivered(status: 204),
                                                     now: at), "\(name)")
        #expect(try await hooks.settleWebhookAttempt(a[0].id, owner: "node-a", outcome: .delivered(status: 204),
                                                    now: at), "\(name)")
        #expect(try await !hooks.settleWebhookAttempt(a[0].id, owner: "node-a", outcome: .delivered(status: 200),
                                                     now: at), "\(name)")
        let delivered = try #require(try await hooks.webhookEvents(state: .delivered, limit: 10).first)
        #expect(delivered.id == a[0].id && delivered.lastStatus == 204 && delivered.finishedAt == at, "\(name)")

        // A failed attempt waits for its retry time, then counts a second attempt.
        let retry = t0.addingTimeInterval(200)
        #expect(try await hooks.settleWebhookAttempt(a[1].id, owner: "node-a",
                                                    outcome: .failed(status: 503, retryAt: retry), now: at))
        #expect(try await hooks.leaseDueWebhookEvents(owner: "node-a", now: t0.addingTimeInterval(150), lease: 60,
                                                      limit: 10).isEmpty, "\(name): b's leases run, a[1] waits")
        let again = try await hooks.leaseDueWebhookEvents(owner: "node-a", now: retry, lease: 60, limit: 10)
        // At +200 b's leases (until +160) ran out too: node A takes them over (a process that died).
        #expect(Set(again.map(\.id)) == Set([a[1].id] + b.map(\.id)), "\(name): \(again)")
        #expect(again.first { $0.id == a[1].id }?.attempts == 2 && again.first { $0.id == a[1].id }?.lastStatus == 503)
        #expect(again.filter { $0.id != a[1].id }.allSatisfy { $0.attempts == 2 }, "\(name)")
        // The late holder's settlement is refused.
        #expect(try await !hooks.settleWebhookAttempt(b[0].id, owner: "node-b", outcome: .delivered(status: 200),
                                                     now: retry), "\(name)")

        // Given up: failed; `retry` puts it back once; a pending or unknown event is not "retried".
        #expect(try await hooks.settleWebhookAttempt(a[1].id, owner: "node-a",
                                                    outcome: .failed(status: -3, retryAt: nil), now: retry))
        let failed = try #require(try await hooks.webhookEvents(state: .failed, limit: 10).first)
        #expect(failed.id == a[1].id && failed.lastStatus == -3 && failed.finishedAt == retry, "\(name)")
        #expect(try await hooks.webhookEventCounts() == [.delivered: 1, .failed: 1, .pending: 4], "\(name)")
        #expect(try await hooks.retryWebhookEvent(a[1].id, now: t0.addingTimeInterval(300)), "\(name)")
        #expect(try await !hooks.retryWebhookEvent(a[1].id, now: t0.addingTimeInterval(300)), "\(name)")
        #expect(try await !hooks.retryWebhookEvent(b[1].id, now: t0.addingTimeInterval(300)), "\(name)")
        #expect(try await !hooks.retryWebhookEvent(WebhookEventID(String(repeating: "ab", count: 16)),
                                                  now: t0.addingTimeInterval(300)), "\(name)")
        let back = try await hooks.leaseDueWebhookEvents(owner: "node-c", now: t0.addingTimeInterval(300), lease: 60,
                                                         limit: 10)
        // Attempts count from 0 again after `retry`: the first after it is 1.
        #expect(back.map(\.id).contains(a[1].id) && back.first { $0.id == a[1].id }?.attempts == 1, "\(name)")

        // Pruning: a finished event by when it finished (a[0], delivered at +101), a pending one by when its next
        // attempt was due (b's four at +2 and +3: leases do not move it; a[1] at +300, when it was put back).
        #expect(try await hooks.pruneWebhookEvents(before: t0.addingTimeInterval(2)) == 0, "\(name)")
        #expect(try await hooks.pruneWebhookEvents(before: t0.addingTimeInterval(101)) == 4, "\(name)")
        #expect(try await hooks.webhookEvents(state: nil, limit: 10).map(\.id).sorted { $0.description < $1.description }
                == [a[0].id, a[1].id].sorted { $0.description < $1.description }, "\(name)")
        #expect(try await hooks.pruneWebhookEvents(before: t0.addingTimeInterval(1_000)) == 2, "\(name)")
        #expect(try await hooks.webhookEventCounts().isEmpty, "\(name)")
    }

    @Test(arguments: engines)
    func aTriggerProblemNeverFailsTheImport(engine name: String) async throws {
        // An audit row naming a thread that is gone (or none) records no event and breaks nothing.
        let engine = try await SeamEngineUnderTest.engine(name)
        try await engine.webhooks.setWebhookSubscription(true, now: t0)
        try await engine.importer.recordInbound(.inboundEncryptedRejected, reason: 3)
        _ = try engine.sql("""
            INSERT INTO audit (at, event, thread_id) VALUES (1, 41, '\(String(repeating: "cd", count: 16))')
            """)
        #expect(try await engine.webhooks.webhookEvents(state: nil, limit: 10).isEmpty, "\(name)")
    }
}
