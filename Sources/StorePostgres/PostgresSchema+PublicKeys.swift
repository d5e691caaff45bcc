extension PostgresSchema {
    /// Version 6: the clients' public keys shared by every node (issue 21, ``PostgresKeyShelf``). The row key is
    /// a keyed HMAC of the fingerprint and the key is sealed (a public key names its owner); `changed_at` is the
    /// database's clock in milliseconds at the last write, which the nodes poll with an overlap (a write's commit
    /// may come after a later write's).
    static let version6: [String] = [
        """
        CREATE TABLE public_key (
            key_hmac BYTEA PRIMARY KEY CHECK (length(key_hmac) = 32),
            sealed BYTEA NOT NULL CHECK (length(sealed) BETWEEN 29 AND 1048605),
            changed_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX public_key_by_change ON public_key(changed_at)",
    ]
}

extension PostgresSchema {
    /// Version 7: the gateway's own secret keys shared by every node (issue 21, ``PostgresKeyShelf/Contents/
    /// gatewaySecretKeys``), in the shape of version 6: a keyed HMAC of the fingerprint, the key as gpg exports it
    /// sealed under the master key, the database's clock at the last write.
    static let version7: [String] = [
        """
        CREATE TABLE gateway_secret_key (
            key_hmac BYTEA PRIMARY KEY CHECK (length(key_hmac) = 32),
            sealed BYTEA NOT NULL CHECK (length(sealed) BETWEEN 29 AND 1048605),
            changed_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX gateway_secret_key_by_change ON gateway_secret_key(changed_at)",
    ]
}
