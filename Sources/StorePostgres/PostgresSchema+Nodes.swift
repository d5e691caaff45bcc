extension PostgresSchema {
    /// Version 9 (issue 21):
    /// - One row per running gateway node (``PostgresNodeClaim``): the node's name, the random token of the process
    ///   that holds it and until when (the database's clock in milliseconds), and which process that is (the
    ///   machine's boot ID, its process ID and start time), so that two processes configured with one `node-id`
    ///   never run at once: they would take each other's outbox leases and spool rows for their own.
    /// - `inbound_spool.removed_at`: a damaged spool row an administrator deleted stays as a tombstone without its
    ///   pieces, so that a node whose local copy waited for that row processes its copy instead of dropping it.
    static let version9: [String] = [
        """
        CREATE TABLE gateway_node (
            node TEXT PRIMARY KEY CHECK (length(node) BETWEEN 1 AND 64),
            instance TEXT NOT NULL CHECK (instance ~ '^[0-9a-f]{32}$'),
            heartbeat_until BIGINT NOT NULL,
            started_at BIGINT NOT NULL,
            boot TEXT CHECK (boot ~ '^[0-9a-f-]{36}$'),
            pid INTEGER,
            pid_start BIGINT
        )
        """,
        "ALTER TABLE inbound_spool ADD COLUMN removed_at BIGINT",
        "ALTER TABLE inbound_spool ADD CONSTRAINT inbound_spool_removed_is_damaged CHECK (removed_at IS NULL OR damaged)",
    ]
}
