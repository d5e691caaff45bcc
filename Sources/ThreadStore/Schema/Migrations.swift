// Security: the schema decides what is in clear on disk. Columns ending in `_sealed` hold ChaChaPoly boxes
// (see Sealing.swift); columns ending in `_hmac` hold keyed HMACs (lookups without clear values). Everything
// else is non-personal metadata: random IDs, timestamps (Unix milliseconds), enum codes, sizes, counts, and the
// counselling field name (configuration). Constraints live in SQL so a bug in Swift cannot break them.

import GRDB

enum Schema {
    /// All migrations, in order. Never edit a shipped migration; add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: v1)
        migrator.registerMigration("v2-message-id-index", migrate: v2)
        migrator.registerMigration("v3-client-address-hmac", migrate: v3)
        migrator.registerMigration("v4-web-accounts", migrate: v4)
        migrator.registerMigration("v5-auth-totp-step", migrate: v5)
        migrator.registerMigration("v6-inbox-views-and-key-changes", migrate: InboxSchema.v6)
        migrator.registerMigration("v7-audit-channel", migrate: AuditSchema.v7)
        migrator.registerMigration("v8-message-paging-and-assignee-indexes", migrate: InboxSchema.v8)
        migrator.registerMigration("v9-password-must-change", migrate: v9)
        migrator.registerMigration("v10-message-signer", migrate: v10)
        migrator.registerMigration("v11-awaiting-key-and-held-replies", migrate: HeldReplySchema.v11)
        migrator.registerMigration("v12-notices-and-waiting", migrate: NoticeSchema.v12)
        migrator.registerMigration("v14-rejected-messages", migrate: RejectedSchema.v14)
        migrator.registerMigration("v15-gateway-keys", migrate: GatewayKeySchema.v15)
        migrator.registerMigration("v16-master-key-rotation", migrate: KeyRotationSchema.v16)
        migrator.registerMigration("v17-reply-authors-and-delivery", migrate: ReplyDeliverySchema.v17)
        migrator.registerMigration("v18-webhook-events", migrate: WebhookSchema.v18)
        migrator.registerMigration("v19-account-organisation", migrate: OrganisationSchema.v19)
        migrator.registerMigration("v20-organisation-key", migrate: OrganisationSchema.v20)
        migrator.registerMigration("v21-organisation-administrator", migrate: OrganisationSchema.v21)
        return migrator
    }

    /// Who signed each inbound message (fingerprint and user ID, sealed with the thread's data key), shown beside
    /// every verdict. `seen_ciphertext` from v10 on holds keyed fingerprints of what a payload decrypts to
    /// (``ReplayFingerprint``); the unkeyed SHA-256 rows of earlier versions age out with retention. `provisional`
    /// marks fingerprints of a message that reached its signer's thread from another From address: the signer's
    /// own copy may still come once (see ``NewMessage/replayFingerprintsAreProvisional``).
    private static func v10(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE message ADD COLUMN signer_sealed BLOB;
            ALTER TABLE seen_ciphertext ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0
                CHECK (provisional IN (0, 1));
            """)
    }

    /// Whether the account must choose a new password at its next login: set for passwords an administrator chose
    /// or saw (`users add`, `users reset`), cleared when the account changes its password itself. Accounts made
    /// before v9 could not change their password themselves, so an administrator set every one of them: they must
    /// change it too.
    private static func v9(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE account ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0
                CHECK (password_must_change IN (0, 1));
            UPDATE account SET password_must_change = 1;
            """)
    }

    /// The last accepted TOTP time step per account (RFC 6238 §5.2: a verifier must not accept the second attempt
    /// of the same OTP), so a code seen by a shoulder-surfer or a proxy cannot be replayed within its window.
    private static func v5(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE account ADD COLUMN totp_last_step INTEGER")
    }

    /// The counsellor side (issue 8): accounts, their counselling fields, browser sessions, API tokens, thread
    /// assignment and the actor of audited actions. Staff accounts are not client data: user names and display
    /// names are in clear (login needs them); secrets are stored only as hashes (`password_hash`: bcrypt;
    /// `token_hash`: SHA-256 of a random token) or sealed (`totp_secret_sealed`).
    private static func v4(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE account (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),
                username TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(username) BETWEEN 1 AND 64),
                display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 128),
                role INTEGER NOT NULL CHECK (role IN (0, 1)),
                language TEXT NOT NULL CHECK (language IN ('de', 'en')),
                password_hash TEXT NOT NULL,
                totp_secret_sealed BLOB,
                disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
                created_at INTEGER NOT NULL,
                password_changed_at INTEGER NOT NULL
            );

            CREATE TABLE account_field (
                account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                field TEXT NOT NULL CHECK (length(field) BETWEEN 1 AND 64),
                PRIMARY KEY (account_id, field)
            ) WITHOUT ROWID;

            -- A browser session. The cookie holds a random token; only its SHA-256 is stored, so a copy of the
            -- database opens no session. The CSRF token is bound to the session.
            CREATE TABLE web_session (
                token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
                account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                csrf_token TEXT NOT NULL,
                second_factor_done INTEGER NOT NULL CHECK (second_factor_done IN (0, 1)),
                created_at INTEGER NOT NULL,
                last_seen_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX web_session_by_account ON web_session(account_id);
            CREATE INDEX web_session_by_expiry ON web_session(expires_at);

            -- A bearer token for a platform integration (JSON API); only its SHA-256 is stored.
            CREATE TABLE api_token (
                id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),
                token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                label TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 64),
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            );

            ALTER TABLE thread ADD COLUMN assigned_to TEXT REFERENCES account(id) ON DELETE SET NULL;
            ALTER TABLE audit ADD COLUMN actor_id TEXT;
            CREATE INDEX audit_by_thread ON audit(thread_id, id);
            """)
    }

    /// A keyed hash of the client address, so a mail from another sender (even with the same key) starts its own
    /// thread. Threads created before v3 have none and are matched by key alone.
    private static func v3(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE thread ADD COLUMN client_address_hmac BLOB CHECK (client_address_hmac IS NULL
                OR length(client_address_hmac) = 32)
            """)
    }

    /// Finds the message a client's reply refers to (In-Reply-To/References) without scanning all messages.
    private static func v2(_ db: Database) throws {
        try db.execute(sql: "CREATE INDEX message_by_message_id ON message(message_id_hmac, direction)")
    }

    private static func v1(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE store_meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    key_check BLOB NOT NULL,
                    created_at INTEGER NOT NULL
                );

                CREATE TABLE thread (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),
                    field TEXT NOT NULL CHECK (length(field) BETWEEN 1 AND 64),
                    client_key_hmac BLOB NOT NULL CHECK (length(client_key_hmac) = 32),
                    client_key_sealed BLOB NOT NULL,
                    client_address_sealed BLOB NOT NULL,
                    state INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_activity_at INTEGER NOT NULL
                );
                -- Listing pages walk these indexes backwards (ORDER BY last_activity_at DESC, id DESC): no sort,
                -- so a page costs the same with 10 k or 1 M threads. The second one also serves retention.
                CREATE INDEX thread_by_field_state ON thread(field, state, last_activity_at, id);
                CREATE INDEX thread_by_field_activity ON thread(field, last_activity_at, id);
                -- Finds the newest thread of a client (ImportDestination.client) without scanning the field.
                CREATE INDEX thread_by_client ON thread(field, client_key_hmac, last_activity_at, id);

                -- The wrapped data key. Deleting this row (cascade from thread) is the crypto-shredding step.
                CREATE TABLE thread_key (
                    thread_id TEXT PRIMARY KEY NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                    wrapped_key BLOB NOT NULL
                );

                CREATE TABLE message (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),
                    thread_id TEXT NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
                    direction INTEGER NOT NULL CHECK (direction IN (0, 1)),
                    message_id_hmac BLOB NOT NULL CHECK (length(message_id_hmac) = 32),
                    content_hmac BLOB NOT NULL CHECK (length(content_hmac) = 32),
                    verdict INTEGER NOT NULL,
                    received_at INTEGER NOT NULL,
                    is_read INTEGER NOT NULL CHECK (is_read IN (0, 1)),
                    body_size INTEGER NOT NULL,
                    attachment_count INTEGER NOT NULL,
                    header_message_id_sealed BLOB NOT NULL,
                    subject_sealed BLOB NOT NULL,
                    body_sealed BLOB NOT NULL,
                    UNIQUE (thread_id, message_id_hmac, content_hmac)
                );
                CREATE INDEX message_by_thread ON message(thread_id, received_at);
                CREATE INDEX message_unread ON message(thread_id) WHERE is_read = 0;

                CREATE TABLE attachment (
                    message_id TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    name_sealed BLOB NOT NULL,
                    media_type_sealed BLOB NOT NULL,
                    content_sealed BLOB NOT NULL,
                    UNIQUE (message_id, position)
                );

                -- SHA-256 of encrypted payloads as received, from every thread: replay detection. Not tied to a
                -- thread, so it survives shredding (it reveals nothing about the content).
                CREATE TABLE seen_ciphertext (
                    hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
                    first_seen_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX seen_ciphertext_by_time ON seen_ciphertext(first_seen_at);

                -- Outbound queue. Items of a thread are sealed with the thread's data key and die with it.
                CREATE TABLE outbox (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),
                    thread_id TEXT REFERENCES thread(id) ON DELETE CASCADE,
                    kind INTEGER NOT NULL,
                    state INTEGER NOT NULL,
                    attempts INTEGER NOT NULL CHECK (attempts >= 0),
                    next_attempt_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    payload_size INTEGER NOT NULL,
                    recipient_sealed BLOB NOT NULL,
                    payload_sealed BLOB NOT NULL
                );
                CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                CREATE INDEX outbox_by_thread ON outbox(thread_id);

                -- Auto-reply rate limit, keyed by an HMAC of the canonical sender address (never the address).
                CREATE TABLE sender_rate_limit (
                    sender_hmac BLOB PRIMARY KEY NOT NULL CHECK (length(sender_hmac) = 32),
                    last_sent_at INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Append-only audit log: event codes, IDs, counts; never content.
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    event INTEGER NOT NULL,
                    thread_id TEXT,
                    item_id TEXT,
                    count INTEGER
                );
                CREATE INDEX audit_by_time ON audit(at);

                -- Audit rows are never updated. They are deleted only by retention (pruneAudit), which opens this
                -- gate inside its own transaction and closes it before commit. This guards against stray code
                -- paths, not against someone with write access to the file.
                CREATE TABLE audit_prune_gate (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    open INTEGER NOT NULL CHECK (open IN (0, 1))
                );
                INSERT INTO audit_prune_gate (id, open) VALUES (1, 0);

                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                BEGIN
                    SELECT RAISE(ABORT, 'audit log is append-only');
                END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                WHEN (SELECT open FROM audit_prune_gate WHERE id = 1) = 0
                BEGIN
                    SELECT RAISE(ABORT, 'audit log is append-only');
                END;
                """
        )
    }
}
