// Security: the tables added here hold opaque random IDs (event, thread, message), event codes, times and delivery
// counters; no content, no names, no addresses, no subjects. They are written by a trigger on `audit`, so the
// events a platform is told of are exactly the audited ones, in the same transaction.

import GRDB

/// Webhook events (issue 29), registered as `v18-webhook-events` in ``Schema/migrator``.
enum WebhookSchema {
    /// - `webhook_subscription`: one row while a webhook is configured (``WebhookEventStore/setWebhookSubscription``;
    ///   the daemon writes or deletes it at start). Without it no event is recorded, so a gateway without webhooks
    ///   keeps no rows.
    /// - `webhook_event`: one row per event, with its stable random ID (the `webhook-id` every attempt carries, so a
    ///   receiver can drop a repeat), its type code (``WebhookEventType``), the thread and message it names, when it
    ///   happened, and its delivery: state 0 pending, 1 delivered, 2 given up (``WebhookDeliveryState``), attempts,
    ///   the next attempt, the last answer's HTTP status or problem code, and a lease (owner, until) so that only
    ///   one sender on one node holds it at a time; a lease that ran out (a process killed) is taken again.
    /// - The trigger `audit_webhook_event` turns audit rows into events: thread created (1), a client message
    ///   stored (2: `messageStored` of an inbound message), a counsellor's reply handed to the smarthost (3:
    ///   `outboxDelivered` of an outbox item that carries a reply, named by `reply_delivery`), a reply held (4:
    ///   `replyHeld`), and the client's key changed (5: a stored client message signed by a key the thread does not
    ///   hold yet, `threadKeyReceived`, or `clientKeyChangeConfirmed`). An event dies with its thread (deleted
    ///   threads leave no row but the audit's), and an audit row whose thread is gone records none.
    static func v18(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE webhook_subscription (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                since INTEGER NOT NULL
            );

            CREATE TABLE webhook_event (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),
                type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 5),
                thread_id TEXT REFERENCES thread(id) ON DELETE CASCADE,
                message_id TEXT CHECK (message_id IS NULL OR length(message_id) = 32),
                occurred_at INTEGER NOT NULL,
                state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
                attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                next_attempt_at INTEGER NOT NULL,
                last_status INTEGER,
                finished_at INTEGER,
                lease_owner TEXT CHECK (lease_owner IS NULL OR length(lease_owner) BETWEEN 1 AND 64),
                lease_until INTEGER
            ) WITHOUT ROWID;
            CREATE INDEX webhook_event_due ON webhook_event(next_attempt_at) WHERE state = 0;
            CREATE INDEX webhook_event_by_time ON webhook_event(occurred_at);
            CREATE INDEX webhook_event_by_thread ON webhook_event(thread_id);

            CREATE TRIGGER audit_webhook_event AFTER INSERT ON audit
            WHEN NEW.event IN (1, 2, 8, 24, 38, 41) AND EXISTS (SELECT 1 FROM webhook_subscription)
            BEGIN
                INSERT INTO webhook_event (id, type, thread_id, message_id, occurred_at, next_attempt_at)
                SELECT lower(hex(randomblob(16))), e.type, NEW.thread_id, e.message, NEW.at, NEW.at FROM (
                    SELECT 1 AS type, NULL AS message WHERE NEW.event = 1
                    UNION ALL
                    SELECT 2, m.id FROM message m WHERE NEW.event = 2 AND m.id = NEW.item_id AND m.direction = 0
                    UNION ALL
                    SELECT 5, m.id FROM message m WHERE NEW.event = 2 AND m.id = NEW.item_id AND m.direction = 0
                        AND m.verdict = 7
                    UNION ALL
                    SELECT 3, r.message_id FROM reply_delivery r WHERE NEW.event = 8 AND r.outbox_id = NEW.item_id
                    UNION ALL
                    SELECT 4, NEW.item_id WHERE NEW.event = 38 AND length(NEW.item_id) = 32
                    UNION ALL
                    SELECT 5, NULL WHERE NEW.event IN (24, 41)
                ) AS e WHERE EXISTS (SELECT 1 FROM thread t WHERE t.id = NEW.thread_id);
            END;
            """)
    }
}
