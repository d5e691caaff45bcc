// Security: the inbound import on SQLite, through the transaction methods the pipeline calls today
// (``WriteTransaction/importMessage(_:into:)``, ``WriteTransaction/enqueueOutbox(_:)``): no new SQL on the write
// path, no new sealing, no behaviour change.

public import Foundation
import GRDB

/// ``ImportStore`` over a ``ThreadStore`` (SQLite): every method is one `read {}` or `write {}` of the store, and
/// SQLite's single writer makes each import atomic against every other.
public final class ThreadStoreImport: ImportStore {
    /// The store.
    public let store: ThreadStore

    /// The import of `store`.
    public init(_ store: ThreadStore) { self.store = store }

    public func importMessage(_ message: NewMessage, into destination: ImportDestination,
                              queueing outbox: [NewOutboxItem]) async throws -> ImportOutcome {
        try await store.write { tx in
            let outcome = try tx.importMessage(message, into: destination)
            if case .stored(let thread, _, _) = outcome {
                for var item in outbox {
                    item.thread = thread
                    try tx.enqueueOutbox(item)
                }
            }
            return outcome
        }
    }

    public func threadContent(_ id: ThreadID) async throws -> ThreadContent {
        try await store.read { tx in
            let opened = try tx.openThread(id)
            let queued = try Int.fetchOne(
                tx.db, sql: "SELECT count(*) FROM outbox WHERE thread_id = ? AND state = ?",
                arguments: [id.unredactedDescription, OutboxState.pending.rawValue]) ?? 0
            return ThreadContent(
                id: id, field: opened.summary.field, state: opened.summary.state,
                isAwaitingKey: try tx.isAwaitingKey(id), clientKey: opened.clientKey,
                clientAddress: opened.clientAddress, messages: opened.messages, queuedOutboxItems: queued)
        }
    }

    public func replaySeenBefore(_ fingerprint: ReplayFingerprint) async throws -> Bool {
        try await store.read { tx in try tx.replaySeenBefore(fingerprint) }
    }

    public func replayFingerprint(_ kind: ReplayFingerprint.Kind, _ material: [UInt8]) -> ReplayFingerprint {
        store.replayFingerprint(kind, material)
    }
}
