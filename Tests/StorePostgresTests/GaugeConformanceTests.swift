import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The metrics gauges' counts (``GaugeStore``) on SQLite (``ThreadStoreGauges``) and on PostgreSQL
/// (``PostgresThreads``, also under the gateway's role): the same store state gives the same counts (issue 21).
/// Each state is reached through the seams (import, replies, inbox) and the outbound queue's own steps, and checked
/// against the same literal counts on every engine.
@Suite struct GaugeConformanceTests {
    static let engines = SeamEngineUnderTest.engines
    let t0 = ImportEngines.start
    let hour: TimeInterval = 3600
    let lead = InboxActor(account: .makeRandom(), channel: .browser, scope: .everyField)

    /// A depth from `(kind, state, count)` triples and the held replies.
    func depth(_ items: [(OutboxKind, OutboxState, Int)], held: Int = 0) -> OutboxDepth {
        var depth = OutboxDepth()
        for (kind, state, count) in items { depth.items[OutboxDepth.Key(kind: kind, state: state)] = count }
        depth.heldReplies = held
        return depth
    }

    /// A receipt due `minutes` after t0, so that the queue takes the receipts in the clients' order.
    func receipt(_ minutes: Double) -> NewOutboxItem {
        NewOutboxItem(thread: nil, kind: .receipt, recipient: try! ClientAddress("client1@example.org"),
                      payload: Array(repeating: 0x41, count: 64), notBefore: t0.addingTimeInterval(minutes * 60))
    }

    func reply(_ thread: ThreadID, at time: Date, held: Bool) -> ReplyCommit {
        ReplyCommit(
            message: NewMessage(direction: .outbound, messageID: "<\(UUID().uuidString)@example.org>", subject: "Re",
                                body: [0x41], verdict: .notApplicable, receivedAt: time),
            item: NewOutboxItem(thread: thread, kind: held ? .notification : .counsellorReply,
                                recipient: ImportEngines.identity(1).address, payload: [0x42], notBefore: t0),
            thread: thread, actor: nil, channel: nil, keyUnusable: held ? HeldReplyProblem.missing.rawValue : nil,
            assignToActor: false)
    }

    @Test(arguments: engines)
    func theSameStateGivesTheSameCountsOnEveryEngine(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let gauges = engine.gauges
        #expect(try await gauges.outboxDepth() == OutboxDepth(), "\(name)")
        #expect(try await gauges.waitingThreadCounts(before: [t0.addingTimeInterval(365 * 86_400)]) == [0], "\(name)")
        #expect(try await gauges.waitingThreadCounts(before: []) == [], "\(name)")

        // Clients 1…4 write at t0, t0 + 1 h, t0 + 2 h, t0 + 3 h; each import queues a receipt.
        var threads: [ThreadID] = []
        for client in 1...4 {
            let outcome = try await engine.importer.importMessage(
                ImportEngines.message("w\(client)", at: t0.addingTimeInterval(Double(client - 1) * hour)),
                into: .client(ImportEngines.identity(client)), queueing: [receipt(Double(client))])
            threads.append(try #require(outcome.storedThread))
        }
        #expect(try await gauges.outboxDepth() == depth([(.receipt, .pending, 4)]), "\(name)")
        // A thread waits since before a cutoff only when strictly earlier.
        #expect(try await gauges.waitingThreadCounts(before: [
            t0, t0.addingTimeInterval(1), t0.addingTimeInterval(hour), t0.addingTimeInterval(3 * hour + 1),
        ]) == [0, 1, 1, 4], "\(name)")

        // Thread 1: a second message (it still waits since t0), a held reply answers both, a third message waits
        // again from t0 + 6 h. Thread 2: a queued reply answers it.
        _ = try await engine.importer.importMessage(ImportEngines.message("w1b", at: t0.addingTimeInterval(4 * hour)),
                                                    into: .thread(threads[0]))
        #expect(try await gauges.waitingThreadCounts(before: [t0.addingTimeInterval(1)]) == [1], "\(name)")
        let (_, held) = try await engine.replies.commitReply(reply(threads[0], at: t0.addingTimeInterval(5 * hour),
                                                                   held: true))
        _ = try await engine.replies.commitReply(reply(threads[1], at: t0.addingTimeInterval(5 * hour), held: false))
        _ = try await engine.importer.importMessage(ImportEngines.message("w1c", at: t0.addingTimeInterval(6 * hour)),
                                                    into: .thread(threads[0]))
        #expect(try await gauges.outboxDepth() == depth([(.receipt, .pending, 4), (.notification, .pending, 1),
                                                         (.counsellorReply, .pending, 1)], held: 1), "\(name)")
        #expect(try await gauges.waitingThreadCounts(before: [
            t0.addingTimeInterval(3 * hour + 1), t0.addingTimeInterval(6 * hour), t0.addingTimeInterval(6 * hour + 1),
        ]) == [2, 2, 3], "\(name)")

        // The queue delivers thread 1's receipt, gives up on thread 2's and on the reply.
        try await engine.settle(.receipt, true)
        try await engine.settle(.receipt, false)
        try await engine.settle(.counsellorReply, false)
        #expect(try await gauges.outboxDepth() == depth([
            (.receipt, .pending, 2), (.receipt, .failed, 1), (.notification, .pending, 1),
            (.counsellorReply, .failed, 1),
        ], held: 1), "\(name)")

        // The held reply is released; thread 3 is closed, thread 4 deleted (its receipt with it).
        let release = [(message: held, item: NewOutboxItem(thread: threads[0], kind: .counsellorReply,
                                                           recipient: ImportEngines.identity(1).address,
                                                           payload: [0x43], notBefore: t0))]
        #expect(try await engine.replies.releaseHeldReplies(release) == 1, "\(name)")
        _ = try await engine.inbox.setState(.closed, of: threads[2], by: lead)
        try await engine.inbox.deleteThread(threads[3], by: lead)
        #expect(try await gauges.outboxDepth() == depth([
            (.receipt, .pending, 1), (.receipt, .failed, 1), (.notification, .pending, 1),
            (.counsellorReply, .pending, 1), (.counsellorReply, .failed, 1),
        ]), "\(name)")
        #expect(try await gauges.waitingThreadCounts(before: [
            t0.addingTimeInterval(6 * hour), t0.addingTimeInterval(6 * hour + 1), t0.addingTimeInterval(365 * 86_400),
        ]) == [0, 1, 1], "\(name)")
    }
}
