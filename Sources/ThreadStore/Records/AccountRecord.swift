// Security: account, session and API-token rows. Secrets never reach SQLite in clear: passwords arrive as bcrypt
// hashes, session and API tokens are stored as SHA-256 (the token is random, 256 bits, so a plain hash suffices
// and a copy of the database opens no session), and the TOTP secret is sealed under a key derived from the master
// key, bound to its account row. Lookups bind values as SQL arguments only.

import Crypto
import Foundation
import GRDB

/// Reading and writing `account`, `account_field`, `web_session` and `api_token` rows.
enum AccountRows {
    static let columns = """
        a.id, a.username, a.display_name, a.role, a.language, a.disabled, a.created_at, a.password_changed_at, \
        a.password_must_change, a.totp_secret_sealed IS NOT NULL AS has_totp, a.organisation, a.administers
        """

    /// 256 random bits as 64 lower-case hex characters (CSPRNG: getrandom(2) on Linux).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    /// The stored form of a session or API token: SHA-256 of its UTF-8 bytes.
    static func tokenHash(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    static func sealContext(_ account: AccountID) -> SealContext {
        SealContext(table: "account", column: "totp_secret_sealed", threadID: "", rowID: account.raw.text)
    }

    static func account(_ db: Database, row: Row) throws -> Account {
        guard let role = CounsellorRole(rawValue: row["role"]),
            let language = InterfaceLanguage(rawValue: row["language"])
        else { throw ThreadStoreError.databaseCorrupt }
        let id = try AccountID(row["id"] as String)
        let fields = try String.fetchAll(
            db.cachedStatement(sql: "SELECT field FROM account_field WHERE account_id = ? ORDER BY field"),
            arguments: [id.raw.text]
        ).map { try CounsellingField($0) }
        return Account(
            id: id, username: row["username"], displayName: row["display_name"], role: role, language: language,
            fields: Set(fields), isDisabled: row["disabled"] as Bool, hasSecondFactor: row["has_totp"] as Bool,
            createdAt: Date(storeMilliseconds: row["created_at"]),
            passwordChangedAt: Date(storeMilliseconds: row["password_changed_at"]),
            mustChangePassword: row["password_must_change"] as Bool,
            organisation: try (row["organisation"] as String?).map { try OrganisationID($0) },
            administers: row["administers"] as Bool)
    }

    static func find(_ db: Database, id: AccountID) throws -> Account? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(columns) FROM account a WHERE a.id = ?"), arguments: [id.raw.text])
        else { return nil }
        return try account(db, row: row)
    }

    static func find(_ db: Database, username: String) throws -> Account? {
        guard Account.isValidUsername(username),
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(columns) FROM account a WHERE a.username = ?"),
                arguments: [username])
        else { return nil }
        return try account(db, row: row)
    }

    static func requireAccount(_ db: Database, _ id: AccountID) throws {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM account WHERE id = ?)"), arguments: [id.raw.text])
                == true
        else { throw ThreadStoreError.accountNotFound }
    }

    static func replaceFields(_ db: Database, _ id: AccountID, _ fields: Set<CounsellingField>) throws {
        try db.cachedStatement(sql: "DELETE FROM account_field WHERE account_id = ?").execute(arguments: [id.raw.text])
        for field in fields.sorted(by: { $0.rawValue < $1.rawValue }) {
            try db.cachedStatement(sql: "INSERT INTO account_field (account_id, field) VALUES (?, ?)")
                .execute(arguments: [id.raw.text, field.rawValue])
        }
    }

    /// Sets the organisation of an account; returns false if there is no such account.
    static func setOrganisation(_ db: Database, _ id: AccountID, _ organisation: OrganisationID?) throws -> Bool {
        // Nothing it could do carries over: it arrives a counsellor without fields that administers nothing.
        try db.cachedStatement(sql: "UPDATE account SET organisation = ?, role = 0, administers = 0 WHERE id = ?")
            .execute(arguments: [organisation?.rawValue, id.raw.text])
        guard db.changesCount == 1 else { return false }
        try db.cachedStatement(sql: "DELETE FROM account_field WHERE account_id = ?").execute(arguments: [id.raw.text])
        return true
    }

    /// Ends every session of `id` and revokes its live API tokens at `at` (a password reset, a move to another
    /// organisation).
    static func endSessionsAndRevokeTokens(_ db: Database, of id: AccountID, at: Date) throws {
        try deleteSessions(db, of: id)
        try db.cachedStatement(sql: "UPDATE api_token SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL")
            .execute(arguments: [at.storeMilliseconds, id.raw.text])
    }

    static func deleteSessions(_ db: Database, of id: AccountID) throws {
        try db.cachedStatement(sql: "DELETE FROM web_session WHERE account_id = ?").execute(arguments: [id.raw.text])
    }

    /// Deletes every session of `id` except the one of cookie token `kept`.
    static func deleteSessions(_ db: Database, of id: AccountID, except kept: String) throws {
        try db.cachedStatement(sql: "DELETE FROM web_session WHERE account_id = ? AND token_hash <> ?")
            .execute(arguments: [id.raw.text, tokenHash(kept)])
    }
}
