// Security: account rows on PostgreSQL, as AccountRecord.swift reads them on SQLite. No secret is read here except
// where LoginCredentials needs it (the bcrypt hash, the sealed TOTP secret, opened by the caller with
// StoreSecrets). Audit rows hold event codes and opaque IDs only.

import Foundation
import Logging
import PostgresNIO
import ThreadStore

/// Reading `account`/`account_field` rows and appending `audit` rows on PostgreSQL.
enum PostgresAccountRows {
    /// One account's columns, as ``AccountRows.columns`` on SQLite.
    static func find(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> Account? {
        try await accounts(connection, rows: connection.query("""
            SELECT id, username, display_name, role, language, disabled, created_at, password_changed_at,
                   password_must_change, totp_secret_sealed IS NOT NULL, organisation, administers
            FROM account WHERE id = \(id)
            """, logger: logger), logger: logger).first
    }

    /// The account of a login name, ASCII case ignored (`lower(username)` is unique). A malformed name finds nothing.
    static func find(_ connection: PostgresConnection, username: String, logger: Logger) async throws -> Account? {
        guard Account.isValidUsername(username) else { return nil }
        return try await accounts(connection, rows: connection.query("""
            SELECT id, username, display_name, role, language, disabled, created_at, password_changed_at,
                   password_must_change, totp_secret_sealed IS NOT NULL, organisation, administers
            FROM account WHERE lower(username) = lower(\(username))
            """, logger: logger), logger: logger).first
    }

    /// Every account, ordered by user name (ASCII case ignored, as SQLite's `COLLATE NOCASE`).
    static func all(_ connection: PostgresConnection, logger: Logger) async throws -> [Account] {
        try await accounts(connection, rows: connection.query("""
            SELECT id, username, display_name, role, language, disabled, created_at, password_changed_at,
                   password_must_change, totp_secret_sealed IS NOT NULL, organisation, administers
            FROM account ORDER BY lower(username)
            """, logger: logger), logger: logger)
    }

    private static func accounts(_ connection: PostgresConnection, rows: PostgresRowSequence, logger: Logger)
        async throws -> [Account]
    {
        var found: [Account] = []
        for try await (id, username, display, role, language, disabled, created, changed, mustChange, hasTOTP,
                       organisation, administers)
            in rows.decode((String, String, String, Int, String, Bool, Int64, Int64, Bool, Bool, String?, Bool).self)
        {
            guard let role = CounsellorRole(rawValue: role), let language = InterfaceLanguage(rawValue: language)
            else { throw ThreadStoreError.databaseCorrupt }
            found.append(Account.stored(
                id: try AccountID(id), username: username, displayName: display, role: role, language: language,
                fields: [], isDisabled: disabled, hasSecondFactor: hasTOTP, createdAt: StoreTime.date(created),
                passwordChangedAt: StoreTime.date(changed), mustChangePassword: mustChange,
                organisation: try organisation.map { try OrganisationID($0) }, administers: administers))
        }
        for index in found.indices {
            found[index].fields = try await fields(connection, of: found[index].id, logger: logger)
        }
        return found
    }

    private static func fields(_ connection: PostgresConnection, of id: AccountID, logger: Logger) async throws
        -> Set<CounsellingField>
    {
        var fields: Set<CounsellingField> = []
        let rows = try await connection.query(
            "SELECT field FROM account_field WHERE account_id = \(id.unredactedDescription) ORDER BY field",
            logger: logger)
        for try await field in rows.decode(String.self) { fields.insert(try CounsellingField(field)) }
        return fields
    }

    /// Appends an audit row, as `AuditLog.append` does on SQLite.
    static func audit(
        _ connection: PostgresConnection, at: Date, event: AuditEvent, itemID: String? = nil, count: Int? = nil,
        actor: AccountID?, channel: AuditChannel?, logger: Logger
    ) async throws {
        try await connection.query("""
            INSERT INTO audit (at, event, item_id, count, actor_id, channel, token_id)
            VALUES (\(StoreTime.milliseconds(at)), \(event.rawValue), \(itemID), \(count),
                    \(actor?.unredactedDescription), \(channel?.storedCode), \(channel?.storedTokenID))
            """, logger: logger)
    }

    /// Runs `body`; a unique violation (SQLSTATE 23505: a second node inserted the same name first) becomes `error`.
    static func mappingUniqueViolation<Result: Sendable>(
        to error: ThreadStoreError, _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await body()
        } catch let failure as PSQLError where failure.code == .server && failure.serverInfo?[.sqlState] == "23505" {
            throw error
        }
    }

    /// Replaces an account's counselling fields (as `AccountRows.replaceFields` on SQLite).
    static func replaceFields(_ connection: PostgresConnection, of id: AccountID, with fields: Set<CounsellingField>,
                              logger: Logger) async throws {
        try await connection.query("DELETE FROM account_field WHERE account_id = \(id.unredactedDescription)",
                                   logger: logger)
        for field in fields.sorted(by: { $0.rawValue < $1.rawValue }) {
            try await connection.query("""
                INSERT INTO account_field (account_id, field) VALUES (\(id.unredactedDescription), \(field.rawValue))
                """, logger: logger)
        }
    }

    /// How many rows a statement returned (with `RETURNING`: how many it changed).
    static func changed(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}
