extension PostgresSchema {
    /// Version 10: ThreadStore's SQLite migration `v18-webhook-events` (WebhookSchema.v18): the webhook outbox
    /// (issue 29). `webhook_subscription` holds one row while a webhook is configured; `webhook_event` one row per
    /// event with its stable random ID, type code, thread and message IDs, time and delivery state, and a lease so
    /// that one node sends an attempt at a time. The trigger function turns audit rows into events exactly as the
    /// SQLite trigger does, in the transaction that writes the audit row; it runs with the inserting role's rights
    /// (the gateway's role gets row rights on both tables, PostgresPrivileges).
    static let version10: [String] = [
        """
        CREATE TABLE webhook_subscription (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            since BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE webhook_event (
            id TEXT PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
            type SMALLINT NOT NULL CHECK (type BETWEEN 1 AND 5),
            thread_id TEXT REFERENCES thread(id) ON DELETE CASCADE,
            message_id TEXT CHECK (message_id IS NULL OR length(message_id) = 32),
            occurred_at BIGINT NOT NULL,
            state SMALLINT NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at BIGINT NOT NULL,
            last_status INTEGER,
            finished_at BIGINT,
            lease_owner TEXT CHECK (lease_owner IS NULL OR length(lease_owner) BETWEEN 1 AND 64),
            lease_until BIGINT
        )
        """,
        "CREATE INDEX webhook_event_due ON webhook_event(next_attempt_at) WHERE state = 0",
        "CREATE INDEX webhook_event_by_time ON webhook_event(occurred_at)",
        "CREATE INDEX webhook_event_by_thread ON webhook_event(thread_id)",
        """
        CREATE FUNCTION audit_webhook_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM webhook_subscription) THEN
                RETURN NULL;
            END IF;
            INSERT INTO webhook_event (id, type, thread_id, message_id, occurred_at, next_attempt_at)
            SELECT replace(gen_random_uuid()::text, '-', ''), e.type, NEW.thread_id, e.message, NEW.at, NEW.at
            FROM (
                SELECT 1::smallint AS type, NULL::text AS message WHERE NEW.event = 1
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
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER audit_webhook_event AFTER INSERT ON audit FOR EACH ROW
        WHEN (NEW.event IN (1, 2, 8, 24, 38, 41)) EXECUTE FUNCTION audit_webhook_event()
        """,
    ]
}
