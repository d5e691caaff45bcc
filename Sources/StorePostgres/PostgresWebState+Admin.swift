// Security: account and API token administration on PostgreSQL (issue 21), as WriteTransaction+Accounts.swift does
// it on SQLite. Passwords arrive as bcrypt hashes only; an API token's secret is made by ThreadStore's code
// (NewAPIToken.generate) and stored as its SHA-256 only. Audit rows carry IDs, codes and counts.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresWebState: AccountAdminStore {
    public func disableAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws {
        try await changeAccount(id, event: .accountDisabled, actor: actor, channel: channel) { connection, logger in
            try await connection.query("UPDATE account SET disabled = TRUE WHERE id = \(id.unredactedDescription) RETURNING id",
                                       logger: logger)
        } then: { connection, logger in
            try await connection.query("DELETE FROM web_session WHERE account_id = \(id.unredactedDescription)",
                                       logger: logger)
        }
    }

    public func enableAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws {
        try await changeAccount(id, event: .accountEnabled, actor: actor, channel: channel) { connection, logger in
            try await connection.query("UPDATE account SET disabled = FALSE WHERE id = \(id.unredactedDescription) RETURNING id",
                                       logger: logger)
        }
    }

    public func deleteAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws {
        let (logger, at) = (self.logger, clock())
        try await database.write { connection in
            try await Self.unassignThreads(of: id, connection: connection, at: at, actor: actor, channel: channel,
                                           logger: logger)
            let deleted = try await PostgresAccountRows.changed(connection.query(
                "DELETE FROM account WHERE id = \(id.unredactedDescription) RETURNING id", logger: logger))
            guard deleted == 1 else { throw ThreadStoreError.accountNotFound }
            try await PostgresAccountRows.audit(connection, at: at, event: .accountDeleted,
                                                itemID: id.unredactedDescription, actor: actor, channel: channel,
                                                logger: logger)
        }
    }

    public func setFields(_ fields: Set<CounsellingField>, of id: AccountID, actor: AccountID?,
                          via channel: AuditChannel?) async throws {
        let (logger, at) = (self.logger, clock())
        try await database.write { connection in
            guard try await PostgresAccountRows.find(connection, id: id.unredactedDescription, logger: logger) != nil
            else { throw ThreadStoreError.accountNotFound }
            try await PostgresAccountRows.replaceFields(connection, of: id, with: fields, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .accountFieldsChanged,
                                                itemID: id.unredactedDescription, count: fields.count, actor: actor,
                                                channel: channel, logger: logger)
        }
    }

    public func setRole(_ role: CounsellorRole, administers: Bool, fields: Set<CounsellingField>, of id: AccountID,
                        in organisation: OrganisationID?, actor: AccountID?, via channel: AuditChannel?) async throws {
        let (logger, at) = (self.logger, clock())
        try await database.write { connection in
            guard try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET role = \(role.rawValue), administers = \(administers)
                WHERE id = \(id.unredactedDescription) AND organisation IS NOT DISTINCT FROM \(organisation?.rawValue)
                RETURNING id
                """, logger: logger)) == 1
            else { throw ThreadStoreError.accountNotFound }
            try await PostgresAccountRows.audit(connection, at: at, event: .accountRoleChanged,
                                                itemID: id.unredactedDescription,
                                                count: AuditEvent.roleChangeCount(role, administers: administers),
                                                actor: actor, channel: channel, logger: logger)
            try await PostgresAccountRows.replaceFields(connection, of: id, with: fields, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .accountFieldsChanged,
                                                itemID: id.unredactedDescription, count: fields.count, actor: actor,
                                                channel: channel, logger: logger)
            if role == .counsellor {
                try await Self.unassignThreads(of: id, outside: fields, connection: connection, at: at, actor: actor,
                                               channel: channel, logger: logger)
            }
        }
    }

    /// Ends every session of `id` and revokes its live API tokens at `at` (store milliseconds), as
    /// `AccountRows.endSessionsAndRevokeTokens` on SQLite.
    private static func endSessionsAndRevokeTokens(of id: AccountID, connection: PostgresConnection, at: Int64,
                                                   logger: Logger) async throws {
        try await connection.query("DELETE FROM web_session WHERE account_id = \(id.unredactedDescription)",
                                   logger: logger)
        try await connection.query("""
            UPDATE api_token SET revoked_at = \(at) WHERE account_id = \(id.unredactedDescription) AND revoked_at IS NULL
            """, logger: logger)
    }

    /// Its threads outside `fields` (no fields: all of them) become unassigned, each audited as an assignment to
    /// nobody, and its pending digest counts of other fields are dropped (as on SQLite); returns how many threads.
    @discardableResult
    private static func unassignThreads(of id: AccountID, outside fields: Set<CounsellingField> = [],
                                        connection: PostgresConnection, at: Date, actor: AccountID?,
                                        channel: AuditChannel?, logger: Logger) async throws -> Int {
        let kept = fields.map(\.rawValue).sorted()
        let assigned = try await connection.query("""
            UPDATE thread SET assigned_to = NULL
            WHERE assigned_to = \(id.unredactedDescription) AND NOT (field = ANY(\(kept)))
            RETURNING id
            """, logger: logger)
        var threads: [ThreadID] = []
        for try await thread in assigned.decode(String.self) { threads.append(try ThreadID(thread)) }
        let rows = PostgresThreadRows(connection: connection, logger: logger, now: at)
        for thread in threads.sorted(by: { $0.unredactedDescription < $1.unredactedDescription }) {
            try await rows.auditAccess(.threadAssigned, actor: actor, channel: channel, thread: thread)
        }
        // Its digest counts of those fields go with them, as on SQLite.
        try await connection.query("""
            DELETE FROM notice_pending
            WHERE recipient_kind = 1 AND recipient = \(id.unredactedDescription) AND NOT (field = ANY(\(kept)))
            """, logger: logger)
        return threads.count
    }

    public func unassignThreads(of id: AccountID, outside fields: Set<CounsellingField>, actor: AccountID?,
                                via channel: AuditChannel?) async throws -> Int {
        let (logger, at) = (self.logger, clock())
        return try await database.write { connection in
            try await Self.unassignThreads(of: id, outside: fields, connection: connection, at: at, actor: actor,
                                           channel: channel, logger: logger)
        }
    }

    public func setOrganisation(_ organisation: OrganisationID?, of id: AccountID, actor: AccountID?,
                                via channel: AuditChannel?) async throws {
        let (logger, at) = (self.logger, clock())
        try await database.write { connection in
            // Nothing it could do carries over: it arrives a counsellor without fields that administers nothing.
            let changed = try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET organisation = \(organisation?.rawValue), role = 0, administers = FALSE
                WHERE id = \(id.unredactedDescription)
                RETURNING id
                """, logger: logger))
            guard changed == 1 else { throw ThreadStoreError.accountNotFound }
            try await PostgresAccountRows.replaceFields(connection, of: id, with: [], logger: logger)
            // Its threads belong to the organisation it leaves: they become unassigned, so that no notice about
            // them reaches it any more.
            try await Self.unassignThreads(of: id, connection: connection, at: at, actor: actor, channel: channel,
                                           logger: logger)
            try await Self.endSessionsAndRevokeTokens(of: id, connection: connection, at: StoreTime.milliseconds(at),
                                                      logger: logger)
            try await connection.query("""
                DELETE FROM notice_pending WHERE recipient_kind = 1 AND recipient = \(id.unredactedDescription)
                """, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .accountOrganisationChanged,
                                                itemID: id.unredactedDescription, actor: actor, channel: channel,
                                                logger: logger)
        }
    }

    public func resetPassword(of id: AccountID, passwordHash: String, in organisation: OrganisationID?,
                              actor: AccountID?, via channel: AuditChannel?) async throws {
        guard Account.isAcceptablePasswordHash(passwordHash) else { throw ThreadStoreError.invalidValue }
        let at = StoreTime.milliseconds(clock())
        try await changeAccount(id, event: .accountReset, actor: actor, channel: channel) { connection, logger in
            try await connection.query("""
                UPDATE account SET password_hash = \(passwordHash), password_changed_at = \(at),
                    totp_secret_sealed = NULL, totp_last_step = NULL, password_must_change = TRUE
                WHERE id = \(id.unredactedDescription)
                    AND organisation IS NOT DISTINCT FROM \(organisation?.rawValue)
                RETURNING id
                """, logger: logger)
        } then: { connection, logger in
            // A reset is also the answer to a compromised account: its API tokens are revoked too.
            try await Self.endSessionsAndRevokeTokens(of: id, connection: connection, at: at, logger: logger)
        }
    }

    public func createAPIToken(for id: AccountID, label: String, actor: AccountID?, via channel: AuditChannel?)
        async throws -> NewAPIToken
    {
        guard NewAPIToken.isValidLabel(label) else { throw ThreadStoreError.invalidValue }
        let (logger, at) = (self.logger, clock())
        return try await database.write { connection in
            guard try await PostgresAccountRows.find(connection, id: id.unredactedDescription, logger: logger) != nil
            else { throw ThreadStoreError.accountNotFound }
            let token = NewAPIToken.generate()
            try await connection.query("""
                INSERT INTO api_token (id, token_hash, account_id, label, created_at)
                VALUES (\(token.id.unredactedDescription), \(StoreSecrets.tokenHash(token.token)),
                        \(id.unredactedDescription), \(label), \(StoreTime.milliseconds(at)))
                """, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .apiTokenCreated,
                                                itemID: token.id.unredactedDescription, actor: actor, channel: channel,
                                                logger: logger)
            return token
        }
    }

    public func apiTokens() async throws -> [APITokenInfo] {
        let logger = self.logger
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT t.id, t.account_id, a.username, t.label, t.created_at, t.revoked_at
                FROM api_token t JOIN account a ON a.id = t.account_id ORDER BY t.created_at, t.id
                """, logger: logger)
            var tokens: [APITokenInfo] = []
            for try await (id, account, username, label, created, revoked)
                in rows.decode((String, String, String, String, Int64, Int64?).self)
            {
                tokens.append(APITokenInfo.stored(
                    id: try APITokenID(id), accountID: try AccountID(account), username: username, label: label,
                    createdAt: StoreTime.date(created), revokedAt: revoked.map(StoreTime.date)))
            }
            return tokens
        }
    }

    public func revokeAPIToken(_ id: APITokenID, actor: AccountID?, via channel: AuditChannel?) async throws {
        let (logger, at) = (self.logger, clock())
        try await database.write { connection in
            guard try await PostgresAccountRows.changed(connection.query(
                "SELECT 1 FROM api_token WHERE id = \(id.unredactedDescription)", logger: logger)) == 1
            else { throw ThreadStoreError.apiTokenNotFound }
            try await connection.query("""
                UPDATE api_token SET revoked_at = \(StoreTime.milliseconds(at))
                WHERE id = \(id.unredactedDescription) AND revoked_at IS NULL
                """, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .apiTokenRevoked,
                                                itemID: id.unredactedDescription, actor: actor, channel: channel,
                                                logger: logger)
        }
    }

    /// One account change: `change` (an `UPDATE … RETURNING`) must touch the row, then `then` runs, then the audit
    /// row `event` with the account as item; all in one transaction.
    private func changeAccount(
        _ id: AccountID, event: AuditEvent, actor: AccountID?, channel: AuditChannel?,
        _ change: @escaping @Sendable (PostgresConnection, Logger) async throws -> PostgresRowSequence,
        then: @escaping @Sendable (PostgresConnection, Logger) async throws -> Void = { _, _ in }
    ) async throws {
        let (logger, at) = (self.logger, clock())
        try await database.write { connection in
            guard try await PostgresAccountRows.changed(change(connection, logger)) == 1 else {
                throw ThreadStoreError.accountNotFound
            }
            try await then(connection, logger)
            try await PostgresAccountRows.audit(connection, at: at, event: event, itemID: id.unredactedDescription,
                                                actor: actor, channel: channel, logger: logger)
        }
    }
}
