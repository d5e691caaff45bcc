// Security: a held reply is a counsellor reply that must not go out yet: its text stays sealed in its message
// row; these queries only mark, list (decrypting for the one caller that encrypts it to the client) and release.

import Foundation
import GRDB

extension ReadTransaction {
    /// The IDs of the held replies of `thread`, oldest first. Decrypts nothing.
    public func heldReplyIDs(in thread: ThreadID) throws -> [StoredMessageID] {
        try String.fetchAll(
            db.cachedStatement(sql: """
                SELECT h.message_id FROM held_reply h JOIN message m ON m.id = h.message_id
                WHERE h.thread_id = ? ORDER BY m.received_at, m.id
                """),
            arguments: [thread.raw.text]
        ).map { text in try StoredMessageID(text) }
    }

    /// The held replies of `thread`, oldest first, decrypted (inner MIME part and Message-ID) for encryption to
    /// the client. At most `limit`.
    public func heldReplies(in thread: ThreadID, limit: Int = 100) throws -> [HeldReply] {
        let key = try Queries.dataKey(db, context: context, thread: thread)
        return try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT m.id, m.header_message_id_sealed, m.body_sealed, h.held_at, h.problem
                FROM held_reply h JOIN message m ON m.id = h.message_id
                WHERE h.thread_id = ? ORDER BY m.received_at, m.id LIMIT ?
                """),
            arguments: [thread.raw.text, limit]
        ).map { row in
            guard let id = try? StoredMessageID(row["id"] as String) else { throw ThreadStoreError.databaseCorrupt }
            return try HeldReply.open(id, messageIDSealed: row["header_message_id_sealed"],
                                      bodySealed: row["body_sealed"], heldAt: row["held_at"],
                                      problemCode: row["problem"], key: key, thread: thread)
        }
    }

    /// The earlier threads of the field and address of `thread` (other keys) whose replies are held, oldest
    /// first (for a confirmed key change). Decrypts nothing.
    public func heldReplyThreads(sameClientAs thread: ThreadID) throws -> [ThreadID] {
        try String.fetchAll(
            db.cachedStatement(sql: """
                SELECT DISTINCT o.id FROM thread t JOIN thread o ON o.field = t.field
                    AND o.client_address_hmac = t.client_address_hmac AND o.id != t.id
                JOIN held_reply h ON h.thread_id = o.id
                WHERE t.id = ? AND o.created_at <= t.created_at ORDER BY o.created_at, o.id
                """),
            arguments: [thread.raw.text]
        ).map { text in try ThreadID(text) }
    }
}

extension WriteTransaction {
    /// Marks the stored outbound `message` of `thread` as held. Audits ``AuditEvent/replyHeld``.
    public func holdReply(_ message: StoredMessageID, in thread: ThreadID, problem: HeldReplyProblem) throws {
        try db.cachedStatement(sql: """
            INSERT INTO held_reply (message_id, thread_id, held_at, problem)
            SELECT id, thread_id, ?, ? FROM message WHERE id = ? AND thread_id = ? AND direction = ?
            """).execute(arguments: [now.storeMilliseconds, problem.rawValue, message.raw.text, thread.raw.text,
                                     MessageDirection.outbound.rawValue])
        guard db.changesCount == 1 else { throw ThreadStoreError.messageNotFound }
        try AuditLog.append(db, at: now, event: .replyHeld, thread: thread, itemID: message.unredactedDescription,
                            count: problem.rawValue)
    }

    /// Queues the encrypted `item` for the held reply `message` and ends the hold, in this transaction. Returns
    /// false (and queues nothing) if the reply is no longer held (released by a concurrent run, or deleted).
    /// Audits ``AuditEvent/heldReplyReleased``.
    public func releaseHeldReply(_ message: StoredMessageID, as item: NewOutboxItem) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM held_reply WHERE message_id = ?").execute(
            arguments: [message.raw.text])
        guard db.changesCount == 1 else { return false }
        try recordReplyReleased(message, outbox: try enqueueOutbox(item))
        try AuditLog.append(db, at: now, event: .heldReplyReleased, thread: item.thread,
                            itemID: message.unredactedDescription)
        return true
    }

    /// See ``ReadTransaction/heldReplyIDs(in:)``.
    public func heldReplyIDs(in thread: ThreadID) throws -> [StoredMessageID] { try reader.heldReplyIDs(in: thread) }
}
