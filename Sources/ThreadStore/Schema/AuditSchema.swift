// Security: the audit columns added here hold only an enum code and an opaque token ID (32 hex), never content,
// user names or token secrets.

import GRDB

enum AuditSchema {
    /// Records how an account acted (issue 8: who, when, which thread, what — and through which door): the
    /// channel code (``AuditChannel``) and, for the JSON API, the ID of the token used. Old rows keep NULL.
    /// `ALTER TABLE … ADD COLUMN` fires no UPDATE trigger, so the append-only triggers stay as they are.
    static func v7(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE audit ADD COLUMN channel INTEGER CHECK (channel IS NULL OR channel IN (1, 2, 3));
            ALTER TABLE audit ADD COLUMN token_id TEXT CHECK (CASE WHEN channel = 2
                THEN token_id IS NOT NULL AND length(token_id) = 32 ELSE token_id IS NULL END);
            CREATE INDEX audit_by_actor ON audit(actor_id, id);
            """)
    }
}
