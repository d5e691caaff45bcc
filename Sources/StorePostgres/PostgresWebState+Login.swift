// Security: the web inbox's composite login steps on PostgreSQL, each one `SERIALIZABLE` transaction, as each is
// one SQLite transaction (ThreadStoreWebState+Login.swift). Only SHA-256 of cookie tokens is stored or looked up,
// the TOTP secret is sealed by ThreadStore's code (StoreSecrets), audit rows hold codes and opaque IDs only.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresWebState {
    public func webDeviceMAC(_ message: Data) -> Data { secrets.webDeviceMAC(message) }

    /// Deleting the ended sessions of every account in the same transaction means two nodes logging in at once
    /// may both delete the same rows; one of them then fails to serialize and runs again (``PostgresDatabase``).
    public func startLogin(for id: AccountID, replacing previous: String?, secondFactorDone: Bool, now: Date,
                           lifetime: TimeInterval, idleTimeout: TimeInterval) async throws -> NewWebSession
    {
        let at = clock()
        let logger = self.logger
        return try await database.write { connection -> NewWebSession in
            if let previous { try await Self.deleteSession(connection, token: previous, logger: logger) }
            try await connection.query("""
                DELETE FROM web_session
                WHERE expires_at <= \(StoreTime.milliseconds(now))
                   OR last_seen_at <= \(StoreTime.milliseconds(now - idleTimeout))
                """, logger: logger)
            let session = try await Self.insertSession(connection, for: id, secondFactorDone: secondFactorDone,
                                                       now: now, lifetime: lifetime, logger: logger)
            if secondFactorDone {
                try await PostgresAccountRows.audit(connection, at: at, event: .loginSucceeded, actor: id,
                                                    channel: .browser, logger: logger)
            }
            return session
        }
    }

    /// The step is accepted by the conditional `UPDATE` of ``acceptTOTPStep(_:for:)``, inside the transaction that
    /// replaces the session: a step that another node accepted first changes nothing here, not even the session.
    public func completeLogin(acceptingStep step: Int64, for id: AccountID, replacing pending: String, now: Date,
                              lifetime: TimeInterval) async throws -> NewWebSession?
    {
        let at = clock()
        let logger = self.logger
        return try await database.write { connection -> NewWebSession? in
            let accepted = try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET totp_last_step = \(step)
                WHERE id = \(id.unredactedDescription) AND (totp_last_step IS NULL OR totp_last_step < \(step))
                RETURNING id
                """, logger: logger))
            guard accepted == 1 else { return nil }
            return try await Self.replace(connection, pending: pending, for: id, now: now, lifetime: lifetime,
                                          at: at, logger: logger)
        }
    }

    /// The secret is stored only where the account has none (`WHERE totp_secret_sealed IS NULL`): of two nodes
    /// confirming an enrolment at once, one enrols and the other changes nothing.
    public func completeLogin(enrolling secret: String, acceptedStep: Int64, for id: AccountID,
                              replacing pending: String, now: Date, lifetime: TimeInterval) async throws
        -> NewWebSession?
    {
        let sealed = try secrets.sealTOTPSecret(secret, for: id)
        let at = clock()
        let logger = self.logger
        return try await database.write { connection -> NewWebSession? in
            let enrolled = try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET totp_secret_sealed = \(sealed), totp_last_step = \(acceptedStep)
                WHERE id = \(id.unredactedDescription) AND totp_secret_sealed IS NULL RETURNING id
                """, logger: logger))
            guard enrolled == 1 else { return nil }
            try await PostgresAccountRows.audit(connection, at: at, event: .secondFactorEnrolled,
                                                itemID: id.unredactedDescription, actor: id, channel: .browser,
                                                logger: logger)
            return try await Self.replace(connection, pending: pending, for: id, now: now, lifetime: lifetime,
                                          at: at, logger: logger)
        }
    }

    public func logOut(token: String, of id: AccountID) async throws {
        let at = clock()
        let logger = self.logger
        try await database.write { connection in
            try await Self.deleteSession(connection, token: token, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .loggedOut, count: LogoutReason.logout,
                                                actor: id, channel: .browser, logger: logger)
        }
    }

    public func auditLoginFailure(reasons: [Int], actor: AccountID?) async throws {
        let at = clock()
        let logger = self.logger
        try await database.write { connection in
            for reason in reasons {
                try await PostgresAccountRows.audit(connection, at: at, event: .loginFailed, count: reason,
                                                    actor: actor, channel: .browser, logger: logger)
            }
        }
    }

    public func changeOwnPassword(of id: AccountID, passwordHash: String, keptSession: String) async throws
        -> Account
    {
        guard Account.isAcceptablePasswordHash(passwordHash) else { throw ThreadStoreError.invalidValue }
        let at = clock()
        let logger = self.logger
        return try await database.write { connection -> Account in
            let changed = try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET password_hash = \(passwordHash), password_changed_at = \(StoreTime.milliseconds(at)),
                                   password_must_change = FALSE
                WHERE id = \(id.unredactedDescription) RETURNING id
                """, logger: logger))
            guard changed == 1 else { throw ThreadStoreError.accountNotFound }
            try await connection.query("""
                DELETE FROM web_session
                WHERE account_id = \(id.unredactedDescription) AND token_hash <> \(StoreSecrets.tokenHash(keptSession))
                """, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .passwordChanged,
                                                itemID: id.unredactedDescription, actor: id, channel: .browser,
                                                logger: logger)
            guard let account = try await PostgresAccountRows.find(connection, id: id.unredactedDescription,
                                                                   logger: logger)
            else { throw ThreadStoreError.accountNotFound }
            return account
        }
    }

    // MARK: Statements shared by the steps

    /// Ends the pending session, starts the full one and audits the login (the last part of both second steps).
    private static func replace(_ connection: PostgresConnection, pending: String, for id: AccountID, now: Date,
                                lifetime: TimeInterval, at: Date, logger: Logger) async throws -> NewWebSession {
        try await deleteSession(connection, token: pending, logger: logger)
        let full = try await insertSession(connection, for: id, secondFactorDone: true, now: now, lifetime: lifetime,
                                           logger: logger)
        try await PostgresAccountRows.audit(connection, at: at, event: .loginSucceeded, actor: id, channel: .browser,
                                            logger: logger)
        return full
    }

    static func deleteSession(_ connection: PostgresConnection, token: String, logger: Logger) async throws {
        try await connection.query("DELETE FROM web_session WHERE token_hash = \(StoreSecrets.tokenHash(token))",
                                   logger: logger)
    }

    /// Inserts a session row with fresh random tokens (new ones if the transaction runs again).
    /// - Throws: ``ThreadStoreError/accountNotFound``, as on SQLite (not a foreign-key failure).
    static func insertSession(_ connection: PostgresConnection, for id: AccountID, secondFactorDone: Bool, now: Date,
                              lifetime: TimeInterval, logger: Logger) async throws -> NewWebSession {
        guard try await PostgresAccountRows.find(connection, id: id.unredactedDescription, logger: logger) != nil
        else { throw ThreadStoreError.accountNotFound }
        let token = StoreSecrets.randomToken()
        let csrf = StoreSecrets.randomToken()
        let expires = now + lifetime
        let at = StoreTime.milliseconds(now)
        try await connection.query("""
            INSERT INTO web_session (token_hash, account_id, csrf_token, second_factor_done, created_at,
                                     last_seen_at, expires_at)
            VALUES (\(StoreSecrets.tokenHash(token)), \(id.unredactedDescription), \(csrf), \(secondFactorDone),
                    \(at), \(at), \(StoreTime.milliseconds(expires)))
            """, logger: logger)
        return NewWebSession.stored(token: token, csrfToken: csrf, expiresAt: expires)
    }
}
