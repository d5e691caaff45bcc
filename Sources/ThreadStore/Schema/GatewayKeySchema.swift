// Security: the table added here records the gateway's own keys per counselling mailbox (issue 20). Clear
// columns: the mailbox address (configuration, public on the help page), the key's fingerprint (public: WKD),
// a state code and times. The revocation certificate (it can kill the key) and the operator's reason for a
// revocation are sealed under a key derived from the master key, bound to the table, column and fingerprint.

import GRDB

enum GatewayKeySchema {
    /// Issue 20: gateway key lifecycle. At most one current key per mailbox (partial unique index).
    static func v15(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE gateway_key (
                fingerprint TEXT PRIMARY KEY NOT NULL
                    CHECK (length(fingerprint) IN (40, 64) AND fingerprint NOT GLOB '*[^0-9A-F]*'),
                mailbox TEXT NOT NULL CHECK (length(mailbox) BETWEEN 3 AND 320),
                state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
                created_at INTEGER NOT NULL,
                expires_at INTEGER,
                overlap_until INTEGER,
                retired_at INTEGER,
                revoked_at INTEGER,
                sealed_revocation BLOB,
                sealed_reason BLOB
            );
            CREATE UNIQUE INDEX gateway_key_one_current ON gateway_key(mailbox) WHERE state = 0;
            CREATE INDEX gateway_key_by_mailbox ON gateway_key(mailbox, created_at);
            """)
    }
}
