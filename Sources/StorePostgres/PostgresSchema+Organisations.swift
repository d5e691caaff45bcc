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
}
