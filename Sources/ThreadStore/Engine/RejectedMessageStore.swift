// Security: rejected encrypted messages kept sealed (issue 28) on any engine (issue 21), for
// `mailbridge spool list|reinject|delete --rejected`. The list carries an opaque ID, the reason code, the time and
// the size; a message is opened only to be written back into the spool. Deleting one is audited.

public import Foundation

/// The kept rejected messages. ``ThreadStoreRejectedMessages`` reads the SQLite store; `PostgresThreads`
/// (StorePostgres) the `rejected_message` table of a PostgreSQL database, sealed the same way.
public protocol RejectedMessageStore: Sendable {
    /// ``ReadTransaction/listRejected(limit:)``: oldest first, at most `limit`.
    func listRejected(limit: Int) async throws -> [RejectedEntry]
    /// ``ReadTransaction/openRejected(_:)``: nil if none has that ID.
    func openRejected(_ id: String) async throws -> RejectedMessage?
    /// ``WriteTransaction/deleteRejected(_:reinjected:)``: audited; false if none has that ID.
    func deleteRejected(_ id: String, reinjected: Bool) async throws -> Bool
}

/// ``RejectedMessageStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreRejectedMessages: RejectedMessageStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func listRejected(limit: Int) async throws -> [RejectedEntry] {
        try await store.read { tx in try tx.listRejected(limit: limit) }
    }

    public func openRejected(_ id: String) async throws -> RejectedMessage? {
        try await store.read { tx in try tx.openRejected(id) }
    }

    public func deleteRejected(_ id: String, reinjected: Bool) async throws -> Bool {
        try await store.write { tx in try tx.deleteRejected(id, reinjected: reinjected) }
    }
}

extension StoreSecrets {
    /// Opens a kept rejected message's sealed columns (``sealRejected(_:limits:)``).
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when a column was altered or moved to another row.
    public func openRejected(id: String, reason: Int, rejectedAt: Date, sealedEnvelope: Data, sealedMessage: Data)
        throws(ThreadStoreError) -> RejectedMessage
    {
        let key = keys.rejected
        return RejectedMessage(
            id: id, reason: reason, rejectedAt: rejectedAt,
            envelope: try Sealing.open(sealedEnvelope, key: key, context: RejectedSealing.context(id, "envelope")),
            message: try Sealing.open(sealedMessage, key: key, context: RejectedSealing.context(id, "message")))
    }
}
