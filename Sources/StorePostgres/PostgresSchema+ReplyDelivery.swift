extension PostgresSchema {
    /// Version 5: ThreadStore's SQLite migration `v17-reply-authors-and-delivery` (ReplyDeliverySchema.v17): who
    /// wrote each counsellor reply and what became of its delivery, kept by triggers on `outbox` as on SQLite (a
    /// pending row deleted: delivered; a row set to failed: failed). Existing counsellor replies get their author
    /// from the audit log's `messageSent` entries (event 20), as SQLite's migration does.
    static let version5: [String] = [
        """
        CREATE TABLE reply_delivery (
            message_id TEXT PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
            author_id TEXT CHECK (author_id IS NULL OR length(author_id) = 32),
            outbox_id TEXT CHECK (outbox_id IS NULL OR length(outbox_id) = 32),
            state SMALLINT CHECK (state IS NULL OR state IN (0, 1, 2))
        )
        """,
        "CREATE INDEX reply_delivery_by_outbox ON reply_delivery(outbox_id) WHERE outbox_id IS NOT NULL",
        """
        CREATE FUNCTION outbox_reply_delivered() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.state = 0 THEN
                UPDATE reply_delivery SET state = 1 WHERE outbox_id = OLD.id;
            END IF;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER outbox_reply_delivered AFTER DELETE ON outbox
            FOR EACH ROW EXECUTE FUNCTION outbox_reply_delivered()
        """,
        """
        CREATE FUNCTION outbox_reply_failed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.state = 1 AND OLD.state IS DISTINCT FROM NEW.state THEN
                UPDATE reply_delivery SET state = 2 WHERE outbox_id = NEW.id;
            END IF;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER outbox_reply_failed AFTER UPDATE OF state ON outbox
            FOR EACH ROW EXECUTE FUNCTION outbox_reply_failed()
        """,
        """
        INSERT INTO reply_delivery (message_id, author_id, outbox_id, state)
        SELECT m.id, a.actor_id, NULL, NULL FROM message m
        LEFT JOIN (SELECT item_id, max(actor_id) AS actor_id FROM audit
                   WHERE event = 20 AND length(actor_id) = 32 GROUP BY item_id) a ON a.item_id = m.id
        WHERE m.direction = 1
        """,
    ]
}
