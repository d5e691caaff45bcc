// Security: the columns added here hold a flag, opaque IDs, times and a reason code. A held reply's text stays
// where every counsellor reply is kept: in its `message` row, sealed with the thread's data key; `held_reply` only
// says that it has not gone out, and dies with the message and the thread (retention, deletion).

import GRDB

/// Schema additions of issue 17 (no key to reply to yet, held replies), registered as
/// `v11-awaiting-key-and-held-replies` in ``Schema/migrator``.
enum HeldReplySchema {
    /// - `thread.awaiting_key`: 1 for a thread whose client key the gateway does not have yet (encrypted mail
    ///   signed by an unknown key, or unsigned mail that names no key of ours). Its `client_key_hmac` is a keyed
    ///   HMAC of the awaited signer and the address under its own label, so no lookup by key or address finds it;
    ///   `client_address_hmac` stays NULL until it gets its key (it never counts as the address's registration).
    /// - `held_reply`: counsellor replies that could not be encrypted to the client (key missing, expired,
    ///   revoked); `problem` is the ``HeldReplyProblem`` code. Released (encrypted and queued, row deleted) when a
    ///   usable key for the thread arrives.
    static func v11(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE thread ADD COLUMN awaiting_key INTEGER NOT NULL DEFAULT 0 CHECK (awaiting_key IN (0, 1));
            CREATE TABLE held_reply (
                message_id TEXT PRIMARY KEY NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                thread_id TEXT NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                held_at INTEGER NOT NULL,
                problem INTEGER NOT NULL CHECK (problem BETWEEN 1 AND 4)
            ) WITHOUT ROWID;
            CREATE INDEX held_reply_by_thread ON held_reply(thread_id, held_at, message_id);
            """)
    }
}
