extension PostgresSchema {
    /// Version 11: ThreadStore's SQLite migration `v19-account-organisation` (OrganisationSchema.v19): the
    /// organisation an account works for (issue 29), NULL for the accounts of an installation without
    /// `[[organisation]]`, which is every existing account after the upgrade.
    static let version11: [String] = [
        """
        ALTER TABLE account ADD COLUMN organisation TEXT
            CHECK (organisation IS NULL OR organisation ~ '^[a-z0-9._-]{1,64}$')
        """,
        "CREATE INDEX account_by_organisation ON account(organisation)",
    ]

    /// Version 12: ThreadStore's SQLite migration `v20-organisation-key` (OrganisationSchema.v20): each
    /// organisation's key check, so a node started with a wrong organisation key refuses it.
    static let version12: [String] = [
        """
        CREATE TABLE organisation_key (
            organisation TEXT PRIMARY KEY CHECK (organisation ~ '^[a-z0-9._-]{1,64}$'),
            key_check BYTEA NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
    ]

    /// Version 13: ThreadStore's SQLite migration `v21-organisation-administrator` (OrganisationSchema.v21): whether
    /// an account administers its organisation's accounts and tokens. Existing accounts keep FALSE.
    static let version13: [String] = [
        "ALTER TABLE account ADD COLUMN administers BOOLEAN NOT NULL DEFAULT FALSE",
    ]
}
