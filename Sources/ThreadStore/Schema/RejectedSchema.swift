// Security: the table added here holds rejected encrypted messages as received (ciphertext, but with the outer
// headers a client's mail program wrote in clear, such as From and Subject) and their envelopes, both sealed
// under a key derived from the master key. Clear columns: an opaque ID (the spool queue ID), a reason code, a
// time and a size; never an address, a subject or a hash of either.

import GRDB

enum RejectedSchema {
    /// Issue 28: encrypted mail the pipeline rejected is kept for a while (`[retention] rejected-days`) instead
    /// of being deleted, so it can be re-injected after a key was restored or a bug fixed.
    static func v14(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE rejected_message (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
                reason INTEGER NOT NULL CHECK (reason BETWEEN 0 AND 1000),
                rejected_at INTEGER NOT NULL,
                size INTEGER NOT NULL CHECK (size >= 0),
                sealed_envelope BLOB NOT NULL,
                sealed_message BLOB NOT NULL
            );
            CREATE INDEX rejected_message_by_time ON rejected_message(rejected_at);
            """)
    }
}
