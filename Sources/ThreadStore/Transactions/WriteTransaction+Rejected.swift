// Security: seals rejected encrypted messages (raw message and envelope) with ChaCha20-Poly1305 under a key
// derived from the master key (Sealing.swift, `rejected`), bound to the table, column and row ID. Clear columns:
// ID, reason code, time, size. Deleted rows are overwritten (`secure_delete=ON`).

public import Foundation
import GRDB

extension WriteTransaction {
    /// Keeps a rejected encrypted message sealed. Keeping the same ID again (the pipeline re-run after a crash
    /// between its commit and the spool removal) changes nothing. Returns whether a row was added.
    @discardableResult
    public func keepRejected(_ message: RejectedMessage) throws -> Bool {
        guard !message.id.isEmpty, message.id.utf8.count <= 64, (0...1000).contains(message.reason),
            message.message.count <= context.configuration.maximumBodyBytes, message.envelope.count <= 1 << 20
        else { throw ThreadStoreError(.invalidValue) }
        let key = context.keys.rejected
        let envelope = try Sealing.seal(message.envelope, key: key,
                                        context: RejectedSealing.context(message.id, "envelope"))
        let body = try Sealing.seal(message.message, key: key, context: RejectedSealing.context(message.id, "message"))
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO rejected_message (id, reason, rejected_at, size, sealed_envelope, sealed_message)
            VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [message.id, message.reason, message.rejectedAt.storeMilliseconds,
                                     message.message.count, envelope, body])
        return db.changesCount > 0
    }

    /// Deletes a kept message after it was re-injected (`reinjected`) or on an administrator's order, with its
    /// audit row. Returns false if there was none with that ID.
    @discardableResult
    public func deleteRejected(_ id: String, reinjected: Bool) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM rejected_message WHERE id = ?").execute(arguments: [id])
        guard db.changesCount > 0 else { return false }
        try AuditLog.append(db, at: now, event: reinjected ? .rejectedMessageReinjected : .rejectedMessageDeleted,
                            itemID: id)
        return true
    }

    /// Deletes every kept message rejected before `cutoff` (retention); returns how many.
    @discardableResult
    public func expireRejected(before cutoff: Date) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM rejected_message WHERE rejected_at < ?")
            .execute(arguments: [cutoff.storeMilliseconds])
        let count = db.changesCount
        if count > 0 { try AuditLog.append(db, at: now, event: .rejectedMessagesExpired, count: count) }
        return count
    }
}

extension ReadTransaction {
    /// The kept rejected messages, oldest first (at most `limit`).
    public func listRejected(limit: Int = 1000) throws -> [RejectedEntry] {
        try Row.fetchAll(db, sql: """
            SELECT id, reason, rejected_at, size FROM rejected_message ORDER BY rejected_at, id LIMIT ?
            """, arguments: [max(0, limit)]).map {
            RejectedEntry(id: $0["id"], reason: $0["reason"], rejectedAt: Date(storeMilliseconds: $0["rejected_at"]),
                          size: $0["size"])
        }
    }

    /// A kept rejected message, unsealed; nil if there is none with that ID.
    public func openRejected(_ id: String) throws -> RejectedMessage? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT reason, rejected_at, sealed_envelope, sealed_message FROM rejected_message WHERE id = ?
            """, arguments: [id])
        else { return nil }
        let key = context.keys.rejected
        return RejectedMessage(
            id: id, reason: row["reason"], rejectedAt: Date(storeMilliseconds: row["rejected_at"]),
            envelope: try Sealing.open(row["sealed_envelope"], key: key,
                                       context: RejectedSealing.context(id, "envelope")),
            message: try Sealing.open(row["sealed_message"], key: key,
                                      context: RejectedSealing.context(id, "message")))
    }
}

enum RejectedSealing {
    static func context(_ id: String, _ column: String) -> SealContext {
        SealContext(table: "rejected_message", column: "sealed_\(column)", threadID: "", rowID: id)
    }
}
