// Security: the schema decides what PostgreSQL ever holds in clear. As on SQLite (ThreadStore/Schema), columns
// ending in `_sealed` hold ChaChaPoly boxes (BYTEA), columns ending in `_hmac` keyed HMACs; everything else is
// non-personal metadata: random IDs, Unix-millisecond times (BIGINT), enum codes, sizes, counts, the counselling
// field name (configuration) and staff accounts' user names (login needs them). Constraints live in SQL, so a bug
// in Swift (on any node) cannot break them; the audit log is append-only by trigger, for every role that has not
// dropped the trigger (see docs/postgresql.md for running the gateway under a role that cannot).

/// One step of the PostgreSQL schema: statements run in one transaction, recorded in `mailbridge_schema`.
struct PostgresMigration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
}

/// The PostgreSQL schema, in order. Never edit a shipped migration; add a new one.
///
/// Version 1 is the SQLite schema of ThreadStore up to its migration `v16-master-key-rotation`, in one step, in
/// PostgreSQL's types: `BYTEA` for sealed values and HMACs, `BIGINT` for times and sizes, `BOOLEAN` for flags,
/// `SMALLINT`/`INTEGER` codes with the same values as on SQLite, `GENERATED ALWAYS AS IDENTITY` for the audit
/// sequence, PL/pgSQL functions for SQLite's triggers. Version 2 adds what several nodes need (outbox leases),
/// version 3 the login-failure locks that one process keeps in memory on SQLite, version 4 the audit prune function
/// a gateway role without the schema may call (PostgresSchema+Roles.swift), version 5 SQLite's `v17` (reply authors
/// and delivery states, PostgresSchema+ReplyDelivery.swift), version 6 the clients' public keys shared by every node,
/// version 7 the gateway's secret keys shared the same way (both in PostgresSchema+PublicKeys.swift), version 8 the
/// inbound spool every node writes before its `250` (PostgresSchema+Spool.swift), version 9 the claims of running
/// nodes on their names (PostgresSchema+Nodes.swift), version 10 the webhook outbox (PostgresSchema+Webhooks.swift),
/// version 11 the organisation an account works for, version 12 the organisations' key checks and version 13 the
/// organisation administrator's right (all three in
/// PostgresSchema+Organisations.swift).
enum PostgresSchema {
    static let migrations: [PostgresMigration] = [
        PostgresMigration(version: 1, name: "threadstore-v16", statements: version1),
        PostgresMigration(version: 2, name: "outbox-leases", statements: version2),
        PostgresMigration(version: 3, name: "login-locks", statements: version3),
        PostgresMigration(version: 4, name: "least-privilege", statements: version4),
        PostgresMigration(version: 5, name: "reply-delivery", statements: version5),
        PostgresMigration(version: 6, name: "shared-public-keys", statements: version6),
        PostgresMigration(version: 7, name: "shared-gateway-secret-keys", statements: version7),
        PostgresMigration(version: 8, name: "shared-inbound-spool", statements: version8),
        PostgresMigration(version: 9, name: "gateway-nodes", statements: version9),
        PostgresMigration(version: 10, name: "webhook-events", statements: version10),
        PostgresMigration(version: 11, name: "account-organisation", statements: version11),
        PostgresMigration(version: 12, name: "organisation-key", statements: version12),
        PostgresMigration(version: 13, name: "organisation-administrator", statements: version13),
    ]

    /// The newest version this binary knows.
    static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Several gateway nodes may deliver from one outbox (issue 21): a node claims due rows by setting
    /// `lease_owner` (its node ID) and `lease_until` (store milliseconds) with `FOR UPDATE SKIP LOCKED`; a lease
    /// that has run out (its node died mid-delivery) may be claimed by another node.
    static let version2: [String] = [
        """
        ALTER TABLE outbox
            ADD COLUMN lease_owner TEXT CHECK (lease_owner IS NULL OR length(lease_owner) BETWEEN 1 AND 64),
            ADD COLUMN lease_until BIGINT,
            ADD CONSTRAINT outbox_lease_pair CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
        """,
        "CREATE INDEX outbox_leased ON outbox(lease_until) WHERE lease_owner IS NOT NULL",
    ]

    /// Login-failure locks shared by every node (issue 21), which one process keeps in memory on SQLite. The key
    /// is a keyed HMAC of the limiter's key (`user:<name>`, `ip:<address>`, …), so the table names no user and no
    /// client address; the rest are Unix-millisecond times and a count.
    static let version3: [String] = [
        """
        CREATE TABLE login_lock (
            key_hmac BYTEA PRIMARY KEY CHECK (length(key_hmac) = 32),
            failures BIGINT[] NOT NULL CHECK (cardinality(failures) <= 64),
            locked_until BIGINT,
            locks INTEGER NOT NULL CHECK (locks >= 0),
            changed_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX login_lock_by_change ON login_lock(changed_at)",
    ]

    static let version1: [String] = [
        """
        CREATE TABLE store_meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            key_check BYTEA NOT NULL,
            created_at BIGINT NOT NULL,
            key_generation INTEGER NOT NULL DEFAULT 1 CHECK (key_generation >= 1),
            lookup_keys_sealed BYTEA
        )
        """,
        // Staff accounts (issue 8): user names unique without regard to case (SQLite's COLLATE NOCASE).
        """
        CREATE TABLE account (
            id TEXT PRIMARY KEY CHECK (length(id) = 32),
            username TEXT NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
            display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 128),
            role SMALLINT NOT NULL CHECK (role IN (0, 1)),
            language TEXT NOT NULL CHECK (language IN ('de', 'en')),
            password_hash TEXT NOT NULL,
            totp_secret_sealed BYTEA,
            disabled BOOLEAN NOT NULL DEFAULT FALSE,
            created_at BIGINT NOT NULL,
            password_changed_at BIGINT NOT NULL,
            totp_last_step BIGINT,
            password_must_change BOOLEAN NOT NULL DEFAULT FALSE,
            notify_address_sealed BYTEA,
            notify_mode SMALLINT NOT NULL DEFAULT 0 CHECK (notify_mode IN (0, 1, 2))
        )
        """,
        "CREATE UNIQUE INDEX account_username ON account (lower(username))",
        """
        CREATE TABLE account_field (
            account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
            field TEXT NOT NULL CHECK (length(field) BETWEEN 1 AND 64),
            PRIMARY KEY (account_id, field)
        )
        """,
        """
        CREATE TABLE web_session (
            token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
            account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
            csrf_token TEXT NOT NULL,
            second_factor_done BOOLEAN NOT NULL,
            created_at BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX web_session_by_account ON web_session(account_id)",
        "CREATE INDEX web_session_by_expiry ON web_session(expires_at)",
        """
        CREATE TABLE api_token (
            id TEXT PRIMARY KEY CHECK (length(id) = 32),
            token_hash BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
            account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
            label TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 64),
            created_at BIGINT NOT NULL,
            revoked_at BIGINT
        )
        """,
        """
        CREATE TABLE thread (
            id TEXT PRIMARY KEY CHECK (length(id) = 32),
            field TEXT NOT NULL CHECK (length(field) BETWEEN 1 AND 64),
            client_key_hmac BYTEA NOT NULL CHECK (length(client_key_hmac) = 32),
            client_key_sealed BYTEA NOT NULL,
            client_address_sealed BYTEA NOT NULL,
            state SMALLINT NOT NULL,
            created_at BIGINT NOT NULL,
            last_activity_at BIGINT NOT NULL,
            client_address_hmac BYTEA CHECK (client_address_hmac IS NULL OR length(client_address_hmac) = 32),
            assigned_to TEXT REFERENCES account(id) ON DELETE SET NULL,
            first_viewed_at BIGINT,
            key_change_confirmed_at BIGINT,
            awaiting_key BOOLEAN NOT NULL DEFAULT FALSE,
            waiting_since BIGINT
        )
        """,
        "CREATE INDEX thread_by_field_state ON thread(field, state, last_activity_at, id)",
        "CREATE INDEX thread_by_field_activity ON thread(field, last_activity_at, id)",
        "CREATE INDEX thread_by_client ON thread(field, client_key_hmac, last_activity_at, id)",
        "CREATE INDEX thread_by_activity ON thread(last_activity_at, id)",
        "CREATE INDEX thread_by_state_activity ON thread(state, last_activity_at, id)",
        """
        CREATE INDEX thread_by_client_address ON thread(field, client_address_hmac)
            WHERE client_address_hmac IS NOT NULL
        """,
        "CREATE INDEX thread_by_assignee ON thread(assigned_to, last_activity_at, id) WHERE assigned_to IS NOT NULL",
        "CREATE INDEX thread_by_waiting ON thread(waiting_since, id, state) WHERE waiting_since IS NOT NULL",
        // The wrapped data key. Deleting this row (cascade from thread) is the crypto-shredding step.
        """
        CREATE TABLE thread_key (
            thread_id TEXT PRIMARY KEY REFERENCES thread(id) ON DELETE CASCADE,
            wrapped_key BYTEA NOT NULL
        )
        """,
        """
        CREATE TABLE message (
            id TEXT PRIMARY KEY CHECK (length(id) = 32),
            thread_id TEXT NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
            direction SMALLINT NOT NULL CHECK (direction IN (0, 1)),
            message_id_hmac BYTEA NOT NULL CHECK (length(message_id_hmac) = 32),
            content_hmac BYTEA NOT NULL CHECK (length(content_hmac) = 32),
            verdict SMALLINT NOT NULL,
            received_at BIGINT NOT NULL,
            is_read BOOLEAN NOT NULL,
            body_size BIGINT NOT NULL,
            attachment_count INTEGER NOT NULL,
            header_message_id_sealed BYTEA NOT NULL,
            subject_sealed BYTEA NOT NULL,
            body_sealed BYTEA NOT NULL,
            signer_sealed BYTEA,
            UNIQUE (thread_id, message_id_hmac, content_hmac)
        )
        """,
        "CREATE INDEX message_by_message_id ON message(message_id_hmac, direction)",
        "CREATE INDEX message_unread ON message(thread_id) WHERE NOT is_read",
        "CREATE INDEX message_by_thread_order ON message(thread_id, received_at, id)",
        """
        CREATE TABLE attachment (
            message_id TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            size BIGINT NOT NULL,
            name_sealed BYTEA NOT NULL,
            media_type_sealed BYTEA NOT NULL,
            content_sealed BYTEA NOT NULL,
            UNIQUE (message_id, position)
        )
        """,
        // Replay detection across all threads; survives shredding (it reveals nothing about the content).
        """
        CREATE TABLE seen_ciphertext (
            hash BYTEA PRIMARY KEY CHECK (length(hash) = 32),
            first_seen_at BIGINT NOT NULL,
            provisional BOOLEAN NOT NULL DEFAULT FALSE
        )
        """,
        "CREATE INDEX seen_ciphertext_by_time ON seen_ciphertext(first_seen_at)",
        // Outbound queue. Items of a thread are sealed with the thread's data key and die with it.
        """
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY CHECK (length(id) = 32),
            thread_id TEXT REFERENCES thread(id) ON DELETE CASCADE,
            kind SMALLINT NOT NULL,
            state SMALLINT NOT NULL,
            attempts INTEGER NOT NULL CHECK (attempts >= 0),
            next_attempt_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            payload_size BIGINT NOT NULL,
            recipient_sealed BYTEA NOT NULL,
            payload_sealed BYTEA NOT NULL
        )
        """,
        "CREATE INDEX outbox_due ON outbox(state, next_attempt_at)",
        "CREATE INDEX outbox_by_thread ON outbox(thread_id)",
        """
        CREATE TABLE sender_rate_limit (
            sender_hmac BYTEA PRIMARY KEY CHECK (length(sender_hmac) = 32),
            last_sent_at BIGINT NOT NULL
        )
        """,
        // Append-only audit log: event codes, IDs, counts; never content.
        """
        CREATE TABLE audit (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at BIGINT NOT NULL,
            event INTEGER NOT NULL,
            thread_id TEXT,
            item_id TEXT,
            count BIGINT,
            actor_id TEXT,
            channel SMALLINT CHECK (channel IS NULL OR channel IN (1, 2, 3)),
            token_id TEXT CHECK (CASE WHEN channel = 2 THEN token_id IS NOT NULL AND length(token_id) = 32
                                 ELSE token_id IS NULL END)
        )
        """,
        "CREATE INDEX audit_by_time ON audit(at)",
        "CREATE INDEX audit_by_thread ON audit(thread_id, id)",
        "CREATE INDEX audit_by_actor ON audit(actor_id, id)",
        // Retention (pruneAudit) opens this gate inside its own transaction and closes it before commit; other
        // transactions (of this node or any other) see it closed (MVCC).
        """
        CREATE TABLE audit_prune_gate (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            open BOOLEAN NOT NULL
        )
        """,
        "INSERT INTO audit_prune_gate (id, open) VALUES (1, FALSE)",
        // SQLSTATE MBA01 is ours (class MB): the code a test and the gateway recognise.
        """
        CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND (SELECT open FROM audit_prune_gate WHERE id = 1) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit log is append-only (%)', TG_OP USING ERRCODE = 'MBA01';
        END
        $$
        """,
        """
        CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
            FOR EACH ROW EXECUTE FUNCTION audit_append_only()
        """,
        """
        CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
            FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()
        """,
        """
        CREATE TABLE held_reply (
            message_id TEXT PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
            thread_id TEXT NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
            held_at BIGINT NOT NULL,
            problem SMALLINT NOT NULL CHECK (problem BETWEEN 1 AND 4)
        )
        """,
        "CREATE INDEX held_reply_by_thread ON held_reply(thread_id, held_at, message_id)",
        // `thread.waiting_since`, kept by triggers as on SQLite (NoticeSchema.v12): an inbound message waits
        // unless a counsellor message is at least as new; a counsellor message answers everything before it.
        """
        CREATE FUNCTION message_keeps_waiting_since() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.direction = 0 THEN
                UPDATE thread SET waiting_since = NEW.received_at
                WHERE id = NEW.thread_id AND (waiting_since IS NULL OR waiting_since > NEW.received_at)
                    AND NOT EXISTS (SELECT 1 FROM message o WHERE o.thread_id = NEW.thread_id
                                    AND o.direction = 1 AND o.received_at >= NEW.received_at);
            ELSE
                UPDATE thread SET waiting_since = (
                    SELECT min(i.received_at) FROM message i
                    WHERE i.thread_id = NEW.thread_id AND i.direction = 0 AND i.received_at > (
                        SELECT max(o.received_at) FROM message o
                        WHERE o.thread_id = NEW.thread_id AND o.direction = 1))
                WHERE id = NEW.thread_id AND waiting_since IS NOT NULL;
            END IF;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER message_waiting AFTER INSERT ON message
            FOR EACH ROW EXECUTE FUNCTION message_keeps_waiting_since()
        """,
        """
        CREATE TABLE notice_pending (
            recipient_kind SMALLINT NOT NULL CHECK (recipient_kind IN (0, 1)),
            recipient TEXT NOT NULL CHECK (length(recipient) BETWEEN 1 AND 64),
            field TEXT NOT NULL CHECK (length(field) BETWEEN 1 AND 64),
            period SMALLINT NOT NULL CHECK (period IN (1, 2)),
            window_start BIGINT NOT NULL,
            window_end BIGINT NOT NULL CHECK (window_end > window_start),
            count INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (recipient_kind, recipient, field, window_start)
        )
        """,
        "CREATE INDEX notice_pending_due ON notice_pending(window_end)",
        """
        CREATE TABLE rejected_message (
            id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
            reason INTEGER NOT NULL CHECK (reason BETWEEN 0 AND 1000),
            rejected_at BIGINT NOT NULL,
            size BIGINT NOT NULL CHECK (size >= 0),
            sealed_envelope BYTEA NOT NULL,
            sealed_message BYTEA NOT NULL
        )
        """,
        "CREATE INDEX rejected_message_by_time ON rejected_message(rejected_at)",
        """
        CREATE TABLE gateway_key (
            fingerprint TEXT PRIMARY KEY
                CHECK (length(fingerprint) IN (40, 64) AND fingerprint ~ '^[0-9A-F]+$'),
            mailbox TEXT NOT NULL CHECK (length(mailbox) BETWEEN 3 AND 320),
            state SMALLINT NOT NULL CHECK (state BETWEEN 0 AND 3),
            created_at BIGINT NOT NULL,
            expires_at BIGINT,
            overlap_until BIGINT,
            retired_at BIGINT,
            revoked_at BIGINT,
            sealed_revocation BYTEA,
            sealed_reason BYTEA
        )
        """,
        "CREATE UNIQUE INDEX gateway_key_one_current ON gateway_key(mailbox) WHERE state = 0",
        "CREATE INDEX gateway_key_by_mailbox ON gateway_key(mailbox, created_at)",
    ]
}
