import GRDB

/// Schema additions of the web inbox (issue 8), registered after `v4-web-accounts` in ``Schema/migrator``.
enum InboxSchema {
    /// - `first_viewed_at`: when a counsellor first opened the thread (web page or API fetch). A thread that is
    ///   open, was never opened and has no counsellor reply is shown as "new".
    /// - `key_change_confirmed_at`: when a counsellor confirmed that the client of this thread is the same person
    ///   who wrote an earlier thread of the same field from the same address with another key.
    /// - Indexes for listing across several fields (team leads see all) and for finding threads of the same
    ///   address (keyed HMAC, never the address) in a field.
    static func v6(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE thread ADD COLUMN first_viewed_at INTEGER;
            ALTER TABLE thread ADD COLUMN key_change_confirmed_at INTEGER;
            CREATE INDEX thread_by_activity ON thread(last_activity_at, id);
            CREATE INDEX thread_by_state_activity ON thread(state, last_activity_at, id);
            CREATE INDEX thread_by_client_address ON thread(field, client_address_hmac)
                WHERE client_address_hmac IS NOT NULL;
            """)
    }

    /// Indexes for paging and filtering (no new data):
    /// - `message_by_thread_order`: a thread's messages in display order, so a page of a long thread is an index
    ///   range (keyset on `(received_at, id)`) with no sort. It replaces `message_by_thread (thread_id,
    ///   received_at)`, of which it is a superset.
    /// - `thread_by_assignee`: the "assigned to me" list, newest activity first, with no sort. Partial: most
    ///   threads of a busy store may be unassigned, and those are listed through `thread_by_activity`.
    static func v8(_ db: Database) throws {
        try db.execute(sql: """
            CREATE INDEX message_by_thread_order ON message(thread_id, received_at, id);
            DROP INDEX message_by_thread;
            CREATE INDEX thread_by_assignee ON thread(assigned_to, last_activity_at, id)
                WHERE assigned_to IS NOT NULL;
            """)
    }
}
