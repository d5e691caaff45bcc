// Security: the web inbox's composite login steps on SQLite, each the one `write {}` the web inbox ran before it
// moved onto ``WebStateStore`` (same transaction methods, same order, same audit entries). Tokens are looked up by
// their SHA-256 only; nothing here is logged.

public import Foundation

extension ThreadStoreWebState {
    public func webDeviceMAC(_ message: Data) -> Data { store.webDeviceMAC(message) }

    public func startLogin(for id: AccountID, replacing previous: String?, secondFactorDone: Bool, now: Date,
                           lifetime: TimeInterval, idleTimeout: TimeInterval) async throws -> NewWebSession
    {
        try await store.write(via: .browser) { tx in
            if let previous { try tx.deleteWebSession(token: previous) }
            // Keeps the session table small without a timer: ended sessions go at every successful password.
            try tx.purgeExpiredWebSessions(now: now, idleTimeout: idleTimeout)
            let session = try tx.createWebSession(for: id, secondFactorDone: secondFactorDone, now: now,
                                                  lifetime: lifetime)
            if secondFactorDone { try tx.recordAccess(.loginSucceeded, actor: id) }
            return session
        }
    }

    public func completeLogin(acceptingStep step: Int64, for id: AccountID, replacing pending: String, now: Date,
                              lifetime: TimeInterval) async throws -> NewWebSession?
    {
        try await store.write(via: .browser) { tx -> NewWebSession? in
            guard try tx.acceptTOTPStep(step, for: id) else { return nil }
            return try Self.replace(pending, for: id, now: now, lifetime: lifetime, in: tx)
        }
    }

    public func completeLogin(enrolling secret: String, acceptedStep: Int64, for id: AccountID,
                              replacing pending: String, now: Date, lifetime: TimeInterval) async throws
        -> NewWebSession?
    {
        try await store.write(via: .browser) { tx -> NewWebSession? in
            guard try tx.account(id)?.hasSecondFactor == false else { return nil }
            try tx.enrolSecondFactor(secret: secret, acceptedStep: acceptedStep, for: id)
            return try Self.replace(pending, for: id, now: now, lifetime: lifetime, in: tx)
        }
    }

    public func logOut(token: String, of id: AccountID) async throws {
        try await store.write(via: .browser) { tx in
            try tx.deleteWebSession(token: token)
            try tx.recordAccess(.loggedOut, actor: id, count: LogoutReason.logout)
        }
    }

    public func auditLoginFailure(reasons: [Int], actor: AccountID?) async throws {
        try await store.write(via: .browser) { tx in
            for reason in reasons { try tx.recordAccess(.loginFailed, actor: actor, count: reason) }
        }
    }

    public func changeOwnPassword(of id: AccountID, passwordHash: String, keptSession: String) async throws
        -> Account
    {
        try await store.write(via: .browser) { tx in
            try tx.changeOwnPassword(of: id, passwordHash: passwordHash, keptSession: keptSession)
            guard let account = try tx.reader.account(id) else { throw ThreadStoreError.accountNotFound }
            return account
        }
    }

    /// Ends the pending session, starts the full one and audits the login (the last part of both second steps).
    private static func replace(_ pending: String, for id: AccountID, now: Date, lifetime: TimeInterval,
                                in tx: WriteTransaction) throws -> NewWebSession {
        try tx.deleteWebSession(token: pending)
        let full = try tx.createWebSession(for: id, secondFactorDone: true, now: now, lifetime: lifetime)
        try tx.recordAccess(.loginSucceeded, actor: id)
        return full
    }
}
