import Foundation
import Logging
@testable import MailBridge
import MailValues
import NIOConcurrencyHelpers
import NIOCore
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: two gateway nodes' outbound queues on one PostgreSQL outbox, delivering to a real SMTP sink
/// (aiosmtpd over loopback). Each item is delivered by exactly one node; a node that claimed items and died before
/// recording a result has them delivered by the other once its lease ran out, and its late results change nothing.
@Suite(.serialized) struct SharedOutboxTests {
    static let logger = Logger(label: "test.shared-outbox")

    /// A fresh migrated database and the outbox of two nodes with one master key.
    static func nodes(lease: Duration = .seconds(600)) async throws
        -> (a: PostgresOutboxQueue, b: PostgresOutboxQueue, pool: Task<Void, Never>, database: TestDatabase)
    {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let endpoint = PostgresEndpoint(host: server.host, port: server.port, database: database.name,
                                        user: database.user, passwordFile: database.passwordFile.path, tls: .disable,
                                        connectTimeoutSeconds: 5)
        _ = try await PostgresStore.open(endpoint, logger: logger)
        let connections = try PostgresDatabase(endpoint, maximumConnections: 6, logger: logger)
        let pool = Task { await connections.run() }
        let key = MasterKey.generate()
        let a = try await PostgresOutboxQueue.open(connections, masterKey: key, node: "node-a", lease: lease,
                                                   logger: logger)
        let b = try await PostgresOutboxQueue.open(connections, masterKey: key, node: "node-b", lease: lease,
                                                   logger: logger)
        return (a, b, pool, database)
    }

    static func item(_ index: Int, tag: String) throws -> NewOutboxItem {
        let message = "Message-ID: <\(tag)-\(index)@gateway.test>\r\nSubject: Hinweis\r\n\r\nNachricht \(index)\r\n"
        return NewOutboxItem(thread: nil, kind: .notification, recipient: try ClientAddress("team@example.org"),
                             payload: Array(message.utf8), notBefore: Date(timeIntervalSince1970: 0))
    }

    /// 40 items, both nodes' queues running at once with two deliveries each: every item reaches the sink once and
    /// the outbox is empty afterwards. (Before the store handed out what it had claimed, unlaunched claims sat under
    /// their lease: 22 of 40 arrived.)
    @Test(.timeLimit(.minutes(2))) func twoNodesDeliverEachItemExactlyOnce() async throws {
        let (a, b, pool, _) = try await Self.nodes()
        defer { pool.cancel() }
        let tag = UUID().uuidString.prefix(8).lowercased()
        for index in 0..<40 { try await (index % 2 == 0 ? a : b).enqueue(try Self.item(index, tag: String(tag))) }
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let directory = MailboxDirectory([])
        let logs = [LogCapture(), LogCapture()]
        let queues = [(a, logs[0]), (b, logs[1])].map { outbox, capture in
            OutboundQueue(store: PostgresOutboxStore(outbox: outbox, mailboxes: directory, logger: capture.logger()),
                          deliverer: OutboundQueueTests.client(sink), policy: OutboundQueueTests.fastPolicy,
                          configuration: .init(concurrency: 2, pollInterval: .milliseconds(200)),
                          logger: capture.logger("queue"))
        }
        let tasks = queues.map { queue in Task { try await queue.run() } }
        let done = await OutboundQueueTests.eventually(.seconds(60)) { sink.messages().count >= 40 }
        try await Task.sleep(for: .milliseconds(500))  // a second delivery of anything would arrive by now
        for task in tasks { task.cancel() }
        #expect(done)
        let bodies = sink.messages().map { String(decoding: $0, as: UTF8.self) }
        let indices = bodies.compactMap { body in
            body.range(of: "Nachricht ").map { Int(body[$0.upperBound...].prefix { $0.isNumber }) ?? -1 }
        }
        #expect(indices.sorted() == Array(0..<40), "delivered \(indices.sorted())")
        #expect(try await a.nextClaimDate() == nil, "items left in the outbox")
        let connected = sink.events("mail").count
        #expect(connected >= 40)
    }

    /// Node A claims every item and dies (records nothing). Node B gets nothing while A's lease runs, then claims
    /// and delivers them; A's late result for one of them changes nothing (it is B's now) and returns false.
    @Test(.timeLimit(.minutes(2))) func aDeadNodesItemsAreTakenOverWhenItsLeaseEnds() async throws {
        let (a, b, pool, _) = try await Self.nodes(lease: .seconds(2))
        defer { pool.cancel() }
        let tag = UUID().uuidString.prefix(8).lowercased()
        for index in 0..<5 { try await a.enqueue(try Self.item(index, tag: String(tag))) }
        let now = Date()
        let claimedByA = try await a.claimDue(now: now, limit: 50)
        #expect(claimedByA.count == 5)
        #expect(claimedByA.allSatisfy { $0.item.kind == .notification && $0.field == nil })
        #expect(try await b.claimDue(now: now, limit: 50).isEmpty, "B claimed items under A's lease")
        // The queue's next wake is the end of A's lease, not a due time in the past (no busy loop).
        let wake = try #require(try await b.nextClaimDate())
        #expect(wake > now.addingTimeInterval(1.5) && wake <= now.addingTimeInterval(2.1), "\(wake) vs \(now)")

        let later = now.addingTimeInterval(3)
        let claimedByB = try await b.claimDue(now: later, limit: 50)
        #expect(Set(claimedByB.map(\.item.id)) == Set(claimedByA.map(\.item.id)))
        #expect(claimedByB.map { String(decoding: $0.item.payload, as: UTF8.self) }
                == claimedByA.map { String(decoding: $0.item.payload, as: UTF8.self) })
        let first = try #require(claimedByA.first?.item.id)
        #expect(try await a.markDelivered(first) == false, "the dead node's late result was recorded")
        #expect(try await a.markFailed(first) == false)
        for claimed in claimedByB { #expect(try await b.markDelivered(claimed.item.id)) }
        #expect(try await b.nextClaimDate() == nil)
        // After a crash, the journal's record of an accepted delivery removes an item whoever holds it.
        let extra = try await b.enqueue(try Self.item(99, tag: String(tag)))
        _ = try await a.claimDue(now: later, limit: 50)
        #expect(try await b.markDeliveredAfterCrash(extra.unredactedDescription))
        #expect(try await b.markDeliveredAfterCrash(extra.unredactedDescription) == false)
    }

    /// A delivery slower than the lease renews it (every third of the lease), so the other node never claims the
    /// item while it is being sent: one delivery, not two. Without renewal node B claimed it after 1.5 s and sent it
    /// a second time. When the lease is lost all the same (here B takes it over by claiming at a time after the
    /// lease's end), A abandons its delivery at its next renewal instead of finishing it.
    @Test(.timeLimit(.minutes(2))) func aSlowDeliveryKeepsItsLeaseAndALostLeaseAbandonsIt() async throws {
        let (a, b, pool, _) = try await Self.nodes(lease: .milliseconds(1500))
        defer { pool.cancel() }
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        _ = try await a.enqueue(try Self.item(0, tag: tag))
        let directory = MailboxDirectory([])
        let slow = SlowDeliverer(delay: .seconds(4))
        let fast = SlowDeliverer(delay: .zero)
        let logs = LogCapture()
        func queue(_ outbox: PostgresOutboxQueue, _ deliverer: SlowDeliverer) -> OutboundQueue {
            OutboundQueue(store: PostgresOutboxStore(outbox: outbox, mailboxes: directory, logger: logs.logger()),
                          deliverer: deliverer, policy: OutboundQueueTests.fastPolicy,
                          configuration: .init(concurrency: 2, pollInterval: .milliseconds(200)),
                          logger: logs.logger("queue"))
        }
        let first = Task { try await queue(a, slow).run() }
        #expect(await OutboundQueueTests.eventually(.seconds(10)) { slow.count(\.started) == 1 })
        let second = Task { try await queue(b, fast).run() }
        #expect(await OutboundQueueTests.eventually(.seconds(10)) { slow.count(\.delivered) == 1 })
        try await Task.sleep(for: .milliseconds(800))
        #expect(fast.count(\.started) == 0, "node B sent an item whose delivery on A was still running")
        #expect(try await a.nextClaimDate() == nil, "the item is still in the outbox")
        first.cancel()
        second.cancel()

        // The lease lost mid-delivery: A cancels its delivery; the item stays with its new holder.
        _ = try await a.enqueue(try Self.item(1, tag: tag))
        let stalled = SlowDeliverer(delay: .seconds(30))
        let third = Task { try await queue(a, stalled).run() }
        #expect(await OutboundQueueTests.eventually(.seconds(10)) { stalled.count(\.started) == 1 })
        let takenOver = try await b.claimDue(now: Date().addingTimeInterval(5), limit: 10)
        #expect(takenOver.count == 1)
        #expect(await OutboundQueueTests.eventually(.seconds(5)) { stalled.count(\.cancelled) == 1 })
        #expect(stalled.count(\.delivered) == 0)
        #expect(logs.all.contains { $0.contains("outbox lease lost during delivery") })
        third.cancel()
        for claimed in takenOver { #expect(try await b.markDelivered(claimed.item.id)) }
    }

    /// A row moved to another item ID does not open (the sealing context binds the item), and a node name outside
    /// the allowed characters is refused.
    @Test func rowsAreBoundToTheirItemAndNodeNamesAreChecked() async throws {
        let (a, _, pool, database) = try await Self.nodes()
        defer { pool.cancel() }
        let tag = UUID().uuidString.prefix(8).lowercased()
        let first = try await a.enqueue(try Self.item(1, tag: String(tag)))
        let second = try await a.enqueue(try Self.item(2, tag: String(tag)))
        // Swap the two rows' sealed payloads with the owner's rights (an attacker with write access).
        let (one, two) = (first.unredactedDescription, second.unredactedDescription)
        try database.server.psql("""
            UPDATE outbox SET payload_sealed = CASE id
                WHEN '\(one)' THEN (SELECT payload_sealed FROM outbox WHERE id = '\(two)')
                ELSE (SELECT payload_sealed FROM outbox WHERE id = '\(one)') END
            WHERE id IN ('\(one)', '\(two)')
            """, database: database.name)
        await #expect(throws: ThreadStoreError.self) { try await a.claimDue(now: Date(), limit: 50) }
        let server = try await PostgresServer.shared()
        let endpoint = PostgresEndpoint(host: server.host, port: server.port, database: database.name,
                                        user: database.user, passwordFile: database.passwordFile.path, tls: .disable,
                                        connectTimeoutSeconds: 5)
        let connections = try PostgresDatabase(endpoint, maximumConnections: 1, logger: Self.logger)
        await #expect(throws: ThreadStoreError.self) {
            try await PostgresOutboxQueue.open(connections, masterKey: .generate(), node: "node a",
                                               logger: Self.logger)
        }
    }
}

/// A deliverer that takes `delay` per message and counts what it started, delivered and saw cancelled.
final class SlowDeliverer: MessageDeliverer, @unchecked Sendable {
    struct Counts { var started = 0, delivered = 0, cancelled = 0 }
    let delay: Duration
    private let counts = NIOLockedValueBox(Counts())

    init(delay: Duration) { self.delay = delay }

    func count(_ field: KeyPath<Counts, Int>) -> Int { counts.withLockedValue { $0[keyPath: field] } }

    func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer) async -> DeliveryResult {
        counts.withLockedValue { $0.started += 1 }
        do {
            try await Task.sleep(for: delay)
        } catch {
            counts.withLockedValue { $0.cancelled += 1 }
            return .temporaryFailure(DeliveryFailure(.cancelled, step: .data))
        }
        counts.withLockedValue { $0.delivered += 1 }
        return .delivered(ReplyCode(250), nil)
    }
}
