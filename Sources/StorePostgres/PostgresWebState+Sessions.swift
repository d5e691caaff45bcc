// Security: browser sessions on PostgreSQL. Only the SHA-256 of a cookie token is stored or looked up (StoreSecrets);
// a token of the wrong shape is never looked up. The CSRF token is stored as on SQLite (it is useless without the
// cookie, whose token the database does not hold).

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresWebState {
    public func createWebSession(for id: AccountID, secondFactorDone: Bool, now: Date, lifetime: TimeInterval)
        async throws -> NewWebSession
    {
        let logger = self.logger
        return try await database.write { connection in
            try await Self.insertSession(connection, for: id, secondFactorDone: secondFactorDone, now: now,
                                         lifetime: lifetime, logger: logger)
        }
    }

    public func webSession(token: String, now: Date, idleTimeout: TimeInterval) async throws -> WebSession? {
        guard token.utf8.count == 64 else { return nil }
        let logger = self.logger
        let session = try await database.read { connection in
            try await Self.findSession(connection, hash: StoreSecrets.tokenHash(token), logger: logger)
        }
        return session.flatMap { $0.isLive(now: now, idleTimeout: idleTimeout) ? $0 : nil }
    }

    /// Reads, then deletes or touches the row, in one `SERIALIZABLE` transaction: two nodes serving requests of
    /// one session at once both see it live (one of them after a retry), and a session that ended is deleted and
    /// audited once.
    public func authenticateWebSession(token: String, now: Date, idleTimeout: TimeInterval) async throws
        -> WebSession?
    {
        guard token.utf8.count == 64 else { return nil }
        let hash = StoreSecrets.tokenHash(token)
        let at = clock()
        let logger = self.logger
        return try await database.write { connection -> WebSession? in
            guard var session = try await Self.findSession(connection, hash: hash, logger: logger) else { return nil }
            guard session.isLive(now: now, idleTimeout: idleTimeout) else {
                try await connection.query("DELETE FROM web_session WHERE token_hash = \(hash)", logger: logger)
                if !session.account.isDisabled {
                    try await PostgresAccountRows.audit(connection, at: at, event: .loggedOut,
                                                        count: LogoutReason.timeout, actor: session.account.id,
                                                        channel: .browser, logger: logger)
                }
                return nil
            }
            try await connection.query(
                "UPDATE web_session SET last_seen_at = \(StoreTime.milliseconds(now)) WHERE token_hash = \(hash)",
                logger: logger)
            session.lastSeenAt = StoreTime.date(StoreTime.milliseconds(now))
            return session
        }
    }

    public func deleteWebSession(token: String) async throws -> AccountID? {
        guard token.utf8.count == 64 else { return nil }
        let logger = self.logger
        let id = try await database.write { connection -> String? in
            let rows = try await connection.query(
                "DELETE FROM web_session WHERE token_hash = \(StoreSecrets.tokenHash(token)) RETURNING account_id",
                logger: logger)
            for try await id in rows.decode(String.self) { return id }
            return nil
        }
        guard let id else { return nil }
        return try AccountID(id)
    }

    public func deleteWebSessions(of id: AccountID) async throws -> Int {
        try await deleting(
            "DELETE FROM web_session WHERE account_id = \(id.unredactedDescription) RETURNING account_id")
    }

    public func purgeExpiredWebSessions(now: Date, idleTimeout: TimeInterval) async throws -> Int {
        let logger = self.logger
        return try await database.write { connection in
            try await PostgresAccountRows.changed(connection.query("""
                DELETE FROM web_session
                WHERE expires_at <= \(StoreTime.milliseconds(now))
                   OR last_seen_at <= \(StoreTime.milliseconds(now - idleTimeout))
                RETURNING account_id
                """, logger: logger))
        }
    }

    static func findSession(_ connection: PostgresConnection, hash: Data, logger: Logger) async throws
        -> WebSession?
    {
        let rows = try await connection.query("""
            SELECT account_id, csrf_token, second_factor_done, created_at, last_seen_at, expires_at
            FROM web_session WHERE token_hash = \(hash)
            """, logger: logger)
        var found: (String, String, Bool, Int64, Int64, Int64)?
        for try await row in rows.decode((String, String, Bool, Int64, Int64, Int64).self) { found = row }
        guard let (accountID, csrf, secondFactor, created, lastSeen, expires) = found,
            let account = try await PostgresAccountRows.find(connection, id: accountID, logger: logger)
        else { return nil }
        return WebSession.stored(
            account: account, csrfToken: csrf, secondFactorDone: secondFactor, createdAt: StoreTime.date(created),
            lastSeenAt: StoreTime.date(lastSeen), expiresAt: StoreTime.date(expires))
    }

    public func apiTokenCredential(token: String) async throws -> (account: Account, tokenID: APITokenID)? {
        // The shape check of the SQLite engine: other strings are never looked up.
        guard token.hasPrefix("mbt_"), token.utf8.count == 68 else { return nil }
        let (hash, logger) = (StoreSecrets.tokenHash(token), self.logger)
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT t.id, t.account_id FROM api_token t JOIN account a ON a.id = t.account_id
                WHERE t.token_hash = \(hash) AND t.revoked_at IS NULL AND NOT a.disabled
                """, logger: logger)
            var found: (String, String)?
            for try await row in rows.decode((String, String).self) { found = row }
            guard let (tokenID, accountID) = found,
                let account = try await PostgresAccountRows.find(connection, id: accountID, logger: logger)
            else { return nil }
            return (account, try APITokenID(tokenID))
        }
    }
}
