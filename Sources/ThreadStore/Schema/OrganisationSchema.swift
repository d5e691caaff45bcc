// Security: the column added here holds an organisation's ID (configuration, in clear): which provider an account
// works for. It decides which threads the account may reach, so it is written only by the installation's
// administrator (the command line) and audited.

import GRDB

/// Organisations (issue 29), registered as `v19-account-organisation` in ``Schema/migrator``.
enum OrganisationSchema {
    /// `account.organisation`: the ID of the organisation an account belongs to (``OrganisationID``), or NULL for an
    /// account of an installation that has no `[[organisation]]` (the one implicit organisation). Existing accounts
    /// keep NULL, so an upgraded store works as before until the administrator names organisations.
    static func v19(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE account ADD COLUMN organisation TEXT
                CHECK (organisation IS NULL OR (length(organisation) BETWEEN 1 AND 64
                                                AND organisation NOT GLOB '*[^a-z0-9._-]*'));
            CREATE INDEX account_by_organisation ON account(organisation);
            """)
    }
}
