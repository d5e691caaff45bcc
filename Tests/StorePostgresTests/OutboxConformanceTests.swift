import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The outbox behaviour both engines share (issue 21): due times, retries with attempt counts, delivery and
/// permanent failure, run unchanged against ThreadStore on SQLite and ``PostgresOutbox`` on a real PostgreSQL.
protocol OutboxUnderTest: Sendable {
    func enqueue(notBefore: Date) async throws -> String
    /// The IDs and attempt counts of the items due at `now` (on PostgreSQL: claimed by this node).
    func due(_ now: Date) async throws -> [Due]
    func retry(_ id: String, at next: Date) async throws
    func delivered(_ id: String) async throws
    func failed(_ id: String) async throws
}

struct Due: Equatable, Sendable {
    var id: String
    var attempts: Int
}

@Suite struct OutboxConformanceTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// "postgresql-gateway-role": PostgreSQL under a role with only the gateway's rights.
    @Test(arguments: ["sqlite", "postgresql", "postgresql-gateway-role"])
    func theOutboxBehavesAlikeOnBothEngines(engine: String) async throws {
        let outbox: any OutboxUnderTest = engine == "sqlite" ? try SQLiteOutbox()
            : try await PostgresOutboxUnderTest(gatewayRole: engine == "postgresql-gateway-role")
        let t0 = Self.start
        let a = try await outbox.enqueue(notBefore: t0)
        let b = try await outbox.enqueue(notBefore: t0.addingTimeInterval(60))
        #expect(try await outbox.due(t0) == [Due(id: a, attempts: 0)])

        try await outbox.retry(a, at: t0.addingTimeInterval(120))
        #expect(try await outbox.due(t0.addingTimeInterval(60)) == [Due(id: b, attempts: 0)])
        try await outbox.delivered(b)
        #expect(try await outbox.due(t0.addingTimeInterval(119)) == [])
        #expect(try await outbox.due(t0.addingTimeInterval(120)) == [Due(id: a, attempts: 1)])

        try await outbox.failed(a)
        #expect(try await outbox.due(t0.addingTimeInterval(86_400)) == [])

        let c = try await outbox.enqueue(notBefore: t0)
        #expect(try await outbox.due(t0.addingTimeInterval(200)) == [Due(id: c, attempts: 0)])
        try await outbox.delivered(c)
        #expect(try await outbox.due(t0.addingTimeInterval(86_400)) == [])
    }
}

/// ThreadStore's outbox on a temporary SQLite file.
final class SQLiteOutbox: OutboxUnderTest {
    let folder: URL
    let store: ThreadStore

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var configuration = ThreadStore.Configuration()
        configuration.clock = { OutboxConformanceTests.start }
        store = try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"), masterKey: .generate(),
                                configuration: configuration)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func enqueue(notBefore: Date) async throws -> String {
        try await store.write { transaction in
            try transaction.enqueueOutbox(NewOutboxItem(
                thread: nil, kind: .notification, recipient: try ClientAddress("team@example.org"),
                payload: Array("notice".utf8), notBefore: notBefore)).unredactedDescription
        }
    }

    func due(_ now: Date) async throws -> [Due] {
        try await store.read { transaction in
            try transaction.dueOutboxItems(now: now).map { Due(id: $0.id.unredactedDescription, attempts: $0.attempts) }
        }
    }

    func retry(_ id: String, at next: Date) async throws {
        try await store.write { try $0.scheduleOutboxRetry(OutboxItemID(id), at: next) }
    }

    func delivered(_ id: String) async throws { try await store.write { try $0.markOutboxDelivered(OutboxItemID(id)) } }
    func failed(_ id: String) async throws { try await store.write { try $0.markOutboxFailed(OutboxItemID(id)) } }
}

/// ``PostgresOutbox`` on a fresh database of the private server, one node; rows hold opaque sealed bytes.
final class PostgresOutboxUnderTest: OutboxUnderTest {
    let endpoint: PostgresEndpoint
    let node = PostgresNodeID("node-a")!
    let logger = PostgresTesting.logger

    init(gatewayRole: Bool = false) async throws {
        let endpoint = gatewayRole ? try await PostgresTesting.twoRoles().gateway
            : try await PostgresTesting.freshEndpoint().0
        self.endpoint = endpoint
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
    }

    func enqueue(notBefore: Date) async throws -> String {
        let row = PostgresOutboxRow.sample(notBefore: notBefore.storeMilliseconds)
        try await PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresOutbox.enqueue(row, on: $0, logger: self.logger)
        }
        return row.id
    }

    func due(_ now: Date) async throws -> [Due] {
        try await PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresOutbox.claim(node: self.node, now: now.storeMilliseconds, leaseMilliseconds: 60_000,
                                           limit: 50, on: $0, logger: self.logger)
                .map { Due(id: $0.id, attempts: $0.attempts) }
        }
    }

    func retry(_ id: String, at next: Date) async throws {
        try await expectChanged { try await PostgresOutbox.scheduleRetry(id, node: self.node,
                                                                         at: next.storeMilliseconds, on: $0,
                                                                         logger: self.logger) }
    }

    func delivered(_ id: String) async throws {
        try await expectChanged { try await PostgresOutbox.markDelivered(id, node: self.node, on: $0,
                                                                         logger: self.logger) }
    }

    func failed(_ id: String) async throws {
        try await expectChanged { try await PostgresOutbox.markFailed(id, node: self.node, on: $0,
                                                                      logger: self.logger) }
    }

    private func expectChanged(_ body: (PostgresConnection) async throws -> Bool) async throws {
        let changed = try await PostgresConnector.withConnection(endpoint, logger: logger, body)
        #expect(changed)
    }
}

extension PostgresOutboxRow {
    static func sample(notBefore: Int64) -> PostgresOutboxRow {
        PostgresOutboxRow(
            id: UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased(), threadID: nil, kind: 2,
            attempts: 0, nextAttemptAt: notBefore, createdAt: notBefore,
            recipientSealed: (0..<40).map { _ in UInt8.random(in: 0...255) },
            payloadSealed: (0..<100).map { _ in UInt8.random(in: 0...255) })
    }
}

extension Date {
    var storeMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
