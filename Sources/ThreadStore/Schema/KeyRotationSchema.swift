// Security: the columns a master key rotation needs. `lookup_keys_sealed` holds the lookup HMAC keys sealed
// under the current master key (ChaChaPoly, Sealing.swift); `key_generation` is a counter, not a secret.

import GRDB

enum KeyRotationSchema {
    /// Master key rotation (issue 20): `key_generation` counts rotations (1 for a store never rotated);
    /// `lookup_keys_sealed` holds the keys of the lookup HMACs (client key, client address, Message-ID,
    /// content, replay fingerprints, sender rate limit), sealed under the current master key, from the first
    /// rotation on. NULL means they are still derived from the master key itself.
    static func v16(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE store_meta ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 1 CHECK (key_generation >= 1);
            ALTER TABLE store_meta ADD COLUMN lookup_keys_sealed BLOB;
            """)
    }
}
