// Security: counts for the metrics gauges, on any engine. Aggregates of codes and times only; nothing is
// decrypted and nothing identifies a client.

public import Foundation

/// What the gateway's gauges count (issue 21): the outbox's depth and the threads waiting for an answer.
/// ``ThreadStoreGauges`` reads them on SQLite, `PostgresThreads` (StorePostgres) on PostgreSQL, with the same
/// statements.
public protocol GaugeStore: Sendable {
    /// ``ReadTransaction/outboxDepth()``.
    func outboxDepth() async throws -> OutboxDepth
    /// ``ReadTransaction/waitingThreadCounts(before:)``.
    func waitingThreadCounts(before cutoffs: [Date]) async throws -> [Int]
    /// ``ReadTransaction/waitingThreadCountsByField(before:)``.
    func waitingThreadCountsByField(before cutoffs: [Date]) async throws -> [[CounsellingField: Int]]
    /// ``ReadTransaction/threadCountsByField()``.
    func threadCountsByField() async throws -> [CounsellingField: Int]
}

/// ``GaugeStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreGauges: GaugeStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func outboxDepth() async throws -> OutboxDepth {
        try await store.read { tx in try tx.outboxDepth() }
    }

    public func waitingThreadCounts(before cutoffs: [Date]) async throws -> [Int] {
        try await store.read { tx in try tx.waitingThreadCounts(before: cutoffs) }
    }

    public func waitingThreadCountsByField(before cutoffs: [Date]) async throws -> [[CounsellingField: Int]] {
        try await store.read { tx in try tx.waitingThreadCountsByField(before: cutoffs) }
    }

    public func threadCountsByField() async throws -> [CounsellingField: Int] {
        try await store.read { tx in try tx.threadCountsByField() }
    }
}
