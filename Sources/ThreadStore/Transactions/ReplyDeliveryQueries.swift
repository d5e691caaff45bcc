// Security: reads and writes `reply_delivery` (IDs and state codes). Decrypts nothing.

import Foundation
import GRDB

extension WriteTransaction {
    /// Records who wrote the stored outbound `message` and the outbox item that carries it (nil: held, see
    /// ``holdReply(_:in:problem:)``). Its state follows the item (triggers on `outbox`, schema v17).
    public func recordReply(_ message: StoredMessageID, author: AccountID?, outbox: OutboxItemID?) throws {
        try db.cachedStatement(sql: """
            INSERT INTO reply_delivery (message_id, author_id, outbox_id, state) VALUES (?, ?, ?, ?)
            """).execute(arguments: [message.raw.text, author?.unredactedDescription, outbox?.raw.text,
                                     outbox == nil ? nil : ReplyDeliveryState.queued.storedCode])
    }

    /// A held reply now travels as `outbox` (``releaseHeldReply(_:as:)``).
    func recordReplyReleased(_ message: StoredMessageID, outbox: OutboxItemID) throws {
        try db.cachedStatement(sql: "UPDATE reply_delivery SET outbox_id = ?, state = ? WHERE message_id = ?")
            .execute(arguments: [outbox.raw.text, ReplyDeliveryState.queued.storedCode, message.raw.text])
    }
}

enum ReplyDeliveryQueries {
    /// Author and state of the outbound `messages` of one page (at most one page of IDs).
    static func deliveries(_ db: Database, messages: [StoredMessageID]) throws -> [StoredMessageID: ReplyDelivery] {
        guard !messages.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: messages.count).joined(separator: ", ")
        // Not a cached statement: its text varies with the page size.
        let rows = try Row.fetchAll(
            db, sql: """
                SELECT r.message_id, r.author_id, r.state, h.message_id IS NOT NULL AS held
                FROM reply_delivery r LEFT JOIN held_reply h ON h.message_id = r.message_id
                WHERE r.message_id IN (\(marks))
                """,
            arguments: StatementArguments(messages.map(\.raw.text)))
        var deliveries: [StoredMessageID: ReplyDelivery] = [:]
        for row in rows {
            guard let id = try? StoredMessageID(row["message_id"] as String) else {
                throw ThreadStoreError.databaseCorrupt
            }
            var author: AccountID?
            if let text = row["author_id"] as String? {
                guard let account = try? AccountID(text) else { throw ThreadStoreError.databaseCorrupt }
                author = account
            }
            deliveries[id] = ReplyDelivery.stored(author: author, stateCode: row["state"], held: row["held"])
        }
        return deliveries
    }
}
