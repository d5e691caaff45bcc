import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport

@testable import StorePostgres

/// Outbox leases on a real PostgreSQL (issue 21): several nodes claim without overlap, a dead node's lease is
/// taken over after it runs out, and a node that lost its lease can no longer change the row.
@Suite struct PostgresOutboxLeaseTests {
    let logger = PostgresTesting.logger
    let now: Int64 = 1_800_000_000_000

    private func prepared(rows count: Int) async throws -> (PostgresEndpoint, [PostgresOutboxRow]) {
        let (endpoint, _) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: logger)
        let rows = (0..<count).map { index in PostgresOutboxRow.sample(notBefore: now - Int64(index)) }
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            for row in rows { try await PostgresOutbox.enqueue(row, on: connection, logger: logger) }
        }
        return (endpoint, rows)
    }

    @Test func concurrentNodesNeverClaimTheSameRow() async throws {
        let (endpoint, rows) = try await prepared(rows: 60)
        let nodes = (1...4).map { PostgresNodeID("node-\($0)")! }
        let claims = try await withThrowingTaskGroup(of: [String].self) { group in
            for node in nodes {
                group.addTask {
                    try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
                        var mine: [String] = []
                        while true {
                            let batch = try await PostgresOutbox.claim(
                                node: node, now: now, leaseMilliseconds: 60_000, limit: 3, on: connection,
                                logger: logger)
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
            }
            var all: [[String]] = []
            for try await claimed in group { all.append(claimed) }
            return all
        }
        let flat = claims.flatMap { $0 }
        #expect(flat.count == rows.count)
        #expect(Set(flat) == Set(rows.map(\.id)))
    }

    @Test func aDeadNodesLeaseIsTakenOverAfterItRunsOut() async throws {
        let (endpoint, rows) = try await prepared(rows: 1)
        let dead = PostgresNodeID("node-dead")!
        let alive = PostgresNodeID("node-alive")!
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            let first = try await PostgresOutbox.claim(node: dead, now: now, leaseMilliseconds: 30_000, limit: 10,
                                                       on: connection, logger: logger)
            #expect(first.map(\.id) == rows.map(\.id))
            // The sealed bytes come back as they were stored.
            #expect(first.first?.payloadSealed == rows.first?.payloadSealed)
            #expect(try await PostgresOutbox.claim(node: alive, now: now + 29_999, leaseMilliseconds: 30_000,
                                                   limit: 10, on: connection, logger: logger).isEmpty)
            let takeover = try await PostgresOutbox.claim(node: alive, now: now + 30_000, leaseMilliseconds: 30_000,
                                                          limit: 10, on: connection, logger: logger)
            #expect(takeover.map(\.id) == rows.map(\.id))
            // The node that lost the lease cannot retry, fail or delete the row any more; the new holder can.
            let id = rows[0].id
            #expect(try await !PostgresOutbox.scheduleRetry(id, node: dead, at: now + 90_000, on: connection,
                                                            logger: logger))
            #expect(try await !PostgresOutbox.markFailed(id, node: dead, on: connection, logger: logger))
            #expect(try await !PostgresOutbox.markDelivered(id, node: dead, on: connection, logger: logger))
            #expect(try await PostgresOutbox.markDelivered(id, node: alive, on: connection, logger: logger))
        }
    }

    @Test func aRenewedLeaseIsNotTakenOver() async throws {
        let (endpoint, rows) = try await prepared(rows: 1)
        let a = PostgresNodeID("node-a")!
        let b = PostgresNodeID("node-b")!
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            _ = try await PostgresOutbox.claim(node: a, now: now, leaseMilliseconds: 30_000, limit: 1, on: connection,
                                               logger: logger)
            #expect(try await PostgresOutbox.renewLease(rows[0].id, node: a, until: now + 90_000, on: connection,
                                                        logger: logger))
            #expect(try await !PostgresOutbox.renewLease(rows[0].id, node: b, until: now + 90_000, on: connection,
                                                         logger: logger))
            #expect(try await PostgresOutbox.claim(node: b, now: now + 60_000, leaseMilliseconds: 30_000, limit: 1,
                                                   on: connection, logger: logger).isEmpty)
            #expect(try await PostgresOutbox.claim(node: b, now: now + 90_000, leaseMilliseconds: 30_000, limit: 1,
                                                   on: connection, logger: logger).count == 1)
        }
    }

    @Test func nodeIDsAreValidated() {
        #expect(PostgresNodeID("gw-1.example_a") != nil)
        #expect(PostgresNodeID("") == nil)
        #expect(PostgresNodeID(String(repeating: "n", count: 65)) == nil)
        #expect(PostgresNodeID("node one") == nil)
        #expect(PostgresNodeID("knoten-ä") == nil)
    }
}
