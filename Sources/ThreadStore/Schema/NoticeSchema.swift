import GRDB

/// Schema additions for routed notices and response times (issue 17), registered as `v12-notices-and-waiting`.
enum NoticeSchema {
    /// - `account.notify_address_sealed`: the account's optional notification address, sealed under the account
    ///   secrets key and bound to its row (staff addresses are personal data too); `notify_mode`: 0 each message,
    ///   1 hourly digest, 2 daily digest.
    /// - `thread.waiting_since`: the receive time of the oldest inbound message after the thread's last outbound
    ///   message, NULL when every inbound message is answered. Kept by triggers on `message` so no code path can
    ///   forget it; filled for existing threads here. `thread_by_waiting` serves the inbox's "longest waiting"
    ///   order and the metrics' counts (covering: waiting time, ID, state) without decrypting anything.
    /// - `notice_pending`: digest counters. One row per recipient (kind 0: a field's team address, `recipient` the
    ///   field; kind 1: an account, `recipient` its ID), field and window start (store milliseconds). A digest is
    ///   queued as an outbox row and the counter deleted in one transaction, so a window is sent at most once and
    ///   never lost. Counts only: no thread IDs, no addresses.
    static func v12(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE account ADD COLUMN notify_address_sealed BLOB;
            ALTER TABLE account ADD COLUMN notify_mode INTEGER NOT NULL DEFAULT 0 CHECK (notify_mode IN (0, 1, 2));

            ALTER TABLE thread ADD COLUMN waiting_since INTEGER;
            UPDATE thread SET waiting_since = (
                SELECT min(i.received_at) FROM message i
                WHERE i.thread_id = thread.id AND i.direction = 0 AND i.received_at > coalesce(
                    (SELECT max(o.received_at) FROM message o WHERE o.thread_id = thread.id AND o.direction = 1), -1));
            CREATE INDEX thread_by_waiting ON thread(waiting_since, id, state) WHERE waiting_since IS NOT NULL;

            -- An inbound message waits unless a counsellor message is at least as new.
            CREATE TRIGGER message_inbound_waits AFTER INSERT ON message WHEN NEW.direction = 0
            BEGIN
                UPDATE thread SET waiting_since = NEW.received_at
                WHERE id = NEW.thread_id AND (waiting_since IS NULL OR waiting_since > NEW.received_at)
                    AND NOT EXISTS (SELECT 1 FROM message o WHERE o.thread_id = NEW.thread_id AND o.direction = 1
                                    AND o.received_at >= NEW.received_at);
            END;
            -- A counsellor message answers everything received before the newest counsellor message.
            CREATE TRIGGER message_outbound_answers AFTER INSERT ON message WHEN NEW.direction = 1
            BEGIN
                UPDATE thread SET waiting_since = (
                    SELECT min(i.received_at) FROM message i
                    WHERE i.thread_id = NEW.thread_id AND i.direction = 0 AND i.received_at > (
                        SELECT max(o.received_at) FROM message o WHERE o.thread_id = NEW.thread_id AND o.direction = 1))
                WHERE id = NEW.thread_id AND waiting_since IS NOT NULL;
            END;

            CREATE TABLE notice_pending (
                recipient_kind INTEGER NOT NULL CHECK (recipient_kind IN (0, 1)),
                recipient TEXT NOT NULL CHECK (length(recipient) BETWEEN 1 AND 64),
                field TEXT NOT NULL CHECK (length(field) BETWEEN 1 AND 64),
                period INTEGER NOT NULL CHECK (period IN (1, 2)),
                window_start INTEGER NOT NULL,
                window_end INTEGER NOT NULL CHECK (window_end > window_start),
                count INTEGER NOT NULL CHECK (count > 0),
                PRIMARY KEY (recipient_kind, recipient, field, window_start)
            ) WITHOUT ROWID;
            CREATE INDEX notice_pending_due ON notice_pending(window_end);
            """)
    }
}
