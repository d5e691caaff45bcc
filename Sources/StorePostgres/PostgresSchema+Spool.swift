extension PostgresSchema {
    /// Version 8: the inbound spool shared by every node (issue 21, ``PostgresInboundSpool``). A row per accepted
    /// message: its queue ID, the node holding it and until when (the database's clock in milliseconds), sizes,
    /// and the envelope sealed; the message in pieces of 1 MiB, each sealed and bound to its place, in
    /// `inbound_spool_piece` (postgres-nio binds a value whole, so one `BYTEA` would hold a whole message in memory).
    static let version8: [String] = [
        """
        CREATE TABLE inbound_spool (
            queue_id TEXT PRIMARY KEY CHECK (length(queue_id) BETWEEN 1 AND 64),
            node TEXT NOT NULL CHECK (length(node) BETWEEN 1 AND 64),
            lease_until BIGINT NOT NULL,
            accepted_at BIGINT NOT NULL,
            size BIGINT NOT NULL CHECK (size >= 0),
            pieces INTEGER NOT NULL CHECK (pieces >= 0),
            envelope_sealed BYTEA NOT NULL CHECK (length(envelope_sealed) BETWEEN 29 AND 65565),
            damaged BOOLEAN NOT NULL DEFAULT false
        )
        """,
        "CREATE INDEX inbound_spool_by_node ON inbound_spool(node)",
        "CREATE INDEX inbound_spool_by_lease ON inbound_spool(lease_until) WHERE NOT damaged",
        """
        CREATE TABLE inbound_spool_piece (
            queue_id TEXT NOT NULL REFERENCES inbound_spool(queue_id) ON DELETE CASCADE,
            piece INTEGER NOT NULL CHECK (piece >= 0),
            sealed BYTEA NOT NULL CHECK (length(sealed) BETWEEN 30 AND 1048605),
            PRIMARY KEY (queue_id, piece)
        )
        """,
    ]
}
