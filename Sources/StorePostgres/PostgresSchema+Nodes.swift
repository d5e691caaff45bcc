extension PostgresSchema {
    /// Version 9: one row per running gateway node (issue 21, ``PostgresNodeClaim``): the node's name, the random
    /// token of the process that holds it and until when (the database's clock in milliseconds), so that two
    /// processes configured with one `node-id` never run at once: they would take each other's outbox leases and
    /// spool rows for their own.
    static let version9: [String] = [
        """
        CREATE TABLE gateway_node (
            node TEXT PRIMARY KEY CHECK (length(node) BETWEEN 1 AND 64),
            instance TEXT NOT NULL CHECK (instance ~ '^[0-9a-f]{32}$'),
            heartbeat_until BIGINT NOT NULL,
            started_at BIGINT NOT NULL
        )
        """,
    ]
}
