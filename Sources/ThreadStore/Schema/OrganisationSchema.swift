// Security: the column added here holds an organisation's ID (configuration, in clear): which provider an account
// works for. It decides which threads the account may reach, so it is written only by the installation's
// administrator (the command line) and audited.

import Foundation
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

    /// `organisation_key`: one row per organisation whose own master key the store has seen, with a constant
    /// sealed under it (``OrganisationKeys/makeKeyCheck(for:)``), so a wrong key is refused before it wraps
    /// anything. Removed when the organisation is crypto-shredded.
    static func v20(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE organisation_key (
                organisation TEXT PRIMARY KEY NOT NULL
                    CHECK (length(organisation) BETWEEN 1 AND 64 AND organisation NOT GLOB '*[^a-z0-9._-]*'),
                key_check BLOB NOT NULL,
                created_at INTEGER NOT NULL
            );
            """)
    }

    /// `account.administers`: whether the account is its organisation's administrator (its accounts and API
    /// tokens, in the web inbox's administration pages). Existing accounts keep 0: an upgrade makes nobody one.
    static func v21(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE account ADD COLUMN administers INTEGER NOT NULL DEFAULT 0 "
            + "CHECK (administers IN (0, 1))")
    }
}

/// The `organisation_key` rows checked at open (SQLite; PostgreSQL does the same in its own engine).
enum OrganisationKeyChecks {
    /// `keys` without the keys whose stored check fails; a key seen for the first time gets its check stored.
    static func checked(_ keys: OrganisationKeys, db: Database, now: Date) throws -> OrganisationKeys {
        var keys = keys
        for organisation in keys.organisations.sorted() where keys.hasKey(for: organisation) {
            if let check = try Data.fetchOne(db, sql: "SELECT key_check FROM organisation_key WHERE organisation = ?",
                                             arguments: [organisation.rawValue]) {
                if !keys.verifiesKeyCheck(check, for: organisation) { keys.refuse(organisation) }
            } else if let check = try keys.makeKeyCheck(for: organisation) {
                try db.execute(sql: "INSERT INTO organisation_key (organisation, key_check, created_at) VALUES (?, ?, ?)",
                               arguments: [organisation.rawValue, check, now.storeMilliseconds])
            }
        }
        return keys
    }
}
