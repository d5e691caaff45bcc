public import Foundation
import NIOCore
public import ThreadStore

/// The outbound queue's view of ThreadStore's outbox table. Store rows have random 128-bit IDs; the queue uses
/// small integers, so this adapter hands out one per row it has fetched (the mapping is rebuilt after a restart,
/// when rows are fetched again).
///
/// Envelope senders: redirect replies and counsellor notices are automatic mail and go out with the null
/// reverse path `MAIL FROM:<>` (RFC 3834 §3.3: so that no auto-responder answers them).
public actor ThreadStoreOutbox: OutboxStore {
    private let store: ThreadStore
    private let metrics: GatewayMetrics?
    private var next: Int64 = 1
    private var ids: [QueueItemID: OutboxItemID] = [:]
    private var known: [OutboxItemID: QueueItemID] = [:]

    public init(store: ThreadStore, metrics: GatewayMetrics? = nil) {
        self.store = store
        self.metrics = metrics
    }

    public func dueItems(now: Date, limit: Int) async throws -> [QueuedMail] {
        let items = try await store.read { try $0.dueOutboxItems(now: now, limit: min(limit, 500)) }
        return try items.map { item in
            let envelope = OutboundEnvelope(reversePath: .null, recipients: [try EmailAddress(item.recipient.unredactedDescription)])
            return QueuedMail(id: queueID(for: item.id), envelope: envelope, message: ByteBuffer(bytes: item.payload),
                              attempts: item.attempts, queuedAt: item.queuedAt, nextAttempt: item.nextAttemptAt)
        }
    }

    public func nextAttemptDate() async throws -> Date? {
        try await store.read { try $0.nextOutboxAttemptDate() }
    }

    public func markDelivered(_ id: QueueItemID) async throws {
        let row = try row(id)
        try await store.write { try $0.markOutboxDelivered(row) }
        metrics?.outboundResult("delivered")
        forget(id)
    }

    public func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws {
        let row = try row(id)
        try await store.write { try $0.scheduleOutboxRetry(row, at: nextAttempt) }
        metrics?.outboundResult("retry")
    }

    public func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws {
        let row = try row(id)
        try await store.write { try $0.markOutboxFailed(row) }
        metrics?.outboundResult("failed")
        forget(id)
    }

    private func queueID(for row: OutboxItemID) -> QueueItemID {
        if let id = known[row] { return id }
        let id = QueueItemID(next)
        next += 1
        ids[id] = row
        known[row] = id
        return id
    }

    private func row(_ id: QueueItemID) throws -> OutboxItemID {
        guard let row = ids[id] else { throw ThreadStoreError(.outboxItemNotFound) }
        return row
    }

    private func forget(_ id: QueueItemID) {
        if let row = ids.removeValue(forKey: id) { known.removeValue(forKey: row) }
    }
}
