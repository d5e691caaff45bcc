// Security: the table added here holds opaque IDs (message, account, outbox item) and a state code; no content,
// no names, no addresses. It dies with its message (and so with the thread).

import GRDB

/// Who wrote each counsellor reply and how far its delivery got (issue 22), registered as
/// `v17-reply-authors-and-delivery` in ``Schema/migrator``.
enum ReplyDeliverySchema {
    /// - `reply_delivery`: one row per outbound message stored by ``WriteTransaction/recordReply(_:author:outbox:)``:
    ///   `author_id` the account that wrote it (NULL: the command line), `outbox_id` the outbox item that carries it
    ///   (NULL while it is held), `state` 0 queued, 1 sent, 2 failed (``ReplyDeliveryState``), NULL unknown.
    /// - Triggers on `outbox` keep `state` without any code path having to: a pending item that leaves the outbox
    ///   was delivered (``WriteTransaction/markOutboxDelivered(_:)``; deleting a thread removes the rows too),
    ///   an item marked failed failed.
    /// - Replies stored before v17 get a row with the author taken from their `replyQueued` audit entry (where
    ///   retention kept it) and an unknown state: their outbox items cannot be told apart any more.
    static func v17(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE reply_delivery (
                message_id TEXT PRIMARY KEY NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                author_id TEXT CHECK (author_id IS NULL OR length(author_id) = 32),
                outbox_id TEXT CHECK (outbox_id IS NULL OR length(outbox_id) = 32),
                state INTEGER CHECK (state IS NULL OR state IN (0, 1, 2))
            ) WITHOUT ROWID;
            CREATE INDEX reply_delivery_by_outbox ON reply_delivery(outbox_id) WHERE outbox_id IS NOT NULL;

            CREATE TRIGGER outbox_reply_delivered AFTER DELETE ON outbox WHEN OLD.state = 0
            BEGIN
                UPDATE reply_delivery SET state = 1 WHERE outbox_id = OLD.id;
            END;
            CREATE TRIGGER outbox_reply_failed AFTER UPDATE OF state ON outbox WHEN NEW.state = 1
            BEGIN
                UPDATE reply_delivery SET state = 2 WHERE outbox_id = NEW.id;
            END;

            INSERT INTO reply_delivery (message_id, author_id, outbox_id, state)
            SELECT m.id, a.actor_id, NULL, NULL FROM message m
            LEFT JOIN (SELECT item_id, max(actor_id) AS actor_id FROM audit
                       WHERE event = 20 AND length(actor_id) = 32 GROUP BY item_id) a ON a.item_id = m.id
            WHERE m.direction = 1;
            """)
    }
}
