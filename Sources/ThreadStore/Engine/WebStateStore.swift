// Security: the state the web inbox's authentication shares between requests, and, with several gateway nodes on
// one PostgreSQL (issue 21), between nodes: accounts as login needs them, browser sessions, TOTP replay
// protection, login-failure locks and the redirect rate limit. Every implementation stores only what ThreadStore
// stores on SQLite: bcrypt hashes, SHA-256 of random tokens, the TOTP secret sealed (StoreSecrets), keyed HMACs of
// sender addresses and lock keys. Nothing here is logged.

public import Foundation

/// The engine-neutral seam for the web inbox's shared state (docs/postgresql.md, "The engine-neutral seam").
///
/// Each method is one whole transaction on its engine, and every check-and-set in it is atomic against every other
/// caller of the same database, on this node or another: on SQLite because one writer runs at a time, on
/// PostgreSQL through single-statement conditional updates, row locks and `SERIALIZABLE` transactions retried on
/// serialization failures. `ThreadStoreWebState` implements it over a ``ThreadStore`` by calling the
/// transaction methods the web inbox called before it moved onto this protocol (the composite login steps as the
/// same single `write {}`); `PostgresWebState` (StorePostgres) implements it on PostgreSQL. The web inbox's
/// authentication reaches it as `WebServices.webState`.
///
/// ```swift
/// let state: any WebStateStore = ThreadStoreWebState(store)     // or: try await PostgresWebState.open(…)
/// let session = try await state.createWebSession(for: id, secondFactorDone: false, now: now, lifetime: 600)
/// guard try await state.acceptTOTPStep(step, for: id) else { /* replayed code */ }
/// ```
public protocol WebStateStore: Sendable {
    // MARK: Accounts, as login needs them

    /// Creates an account; audits ``AuditEvent/accountCreated`` with `actor` and `channel`.
    /// - Throws: ``ThreadStoreError/accountExists`` (name taken, ASCII case ignored);
    ///   ``ThreadStoreError/invalidValue``.
    func createAccount(_ new: NewAccount, actor: AccountID?, via channel: AuditChannel?) async throws -> AccountID
    /// The account with this login name (ASCII case ignored), or nil.
    func account(named username: String) async throws -> Account?
    /// The password hash and opened TOTP secret of a login name (disabled accounts too), or nil.
    func loginCredentials(username: String) async throws -> LoginCredentials?
    /// Stores the sealed TOTP secret and marks `acceptedStep` as used; audits ``AuditEvent/secondFactorEnrolled``.
    func enrolSecondFactor(secret: String, acceptedStep: Int64, for id: AccountID) async throws
    /// Marks TOTP time step `step` as used: true only if no code of this or a later step was accepted before, on
    /// any node (RFC 6238 §5.2). Of several callers racing with the same step, exactly one gets true.
    func acceptTOTPStep(_ step: Int64, for id: AccountID) async throws -> Bool

    // MARK: Browser sessions

    /// Starts a session; returns the cookie token (only its SHA-256 is stored) and a CSRF token.
    func createWebSession(for id: AccountID, secondFactorDone: Bool, now: Date, lifetime: TimeInterval) async throws
        -> NewWebSession
    /// The live session of a cookie token, without recording the request.
    func webSession(token: String, now: Date, idleTimeout: TimeInterval) async throws -> WebSession?
    /// The live session of a cookie token, recording the request (`lastSeenAt = now`); an ended session is deleted
    /// (audited ``AuditEvent/loggedOut`` with ``LogoutReason/timeout`` unless its account is disabled).
    func authenticateWebSession(token: String, now: Date, idleTimeout: TimeInterval) async throws -> WebSession?
    /// Deletes the session of a cookie token; returns its account, nil if there was none.
    func deleteWebSession(token: String) async throws -> AccountID?
    /// Deletes every session of an account; returns how many.
    func deleteWebSessions(of id: AccountID) async throws -> Int
    /// Deletes every ended session; returns how many.
    func purgeExpiredWebSessions(now: Date, idleTimeout: TimeInterval) async throws -> Int
    /// The account an API token acts as and the token's ID (``ReadTransaction/apiTokenCredential(token:)``), or nil
    /// for an unknown or revoked token or a disabled account. The token is looked up by its SHA-256 only.
    func apiTokenCredential(token: String) async throws -> (account: Account, tokenID: APITokenID)?

    /// The HMAC of the web inbox's device cookies (as ``ThreadStore/webDeviceMAC(_:)``): the same on every node
    /// under one master key, so a device cookie set by one node is recognised by the others.
    func webDeviceMAC(_ message: Data) -> Data

    // MARK: Login steps (each one transaction, as the web inbox ran them on SQLite)

    /// The password step: deletes the session of the browser's previous cookie `previous` (if any), deletes every
    /// ended session, starts a session, and if `secondFactorDone` audits ``AuditEvent/loginSucceeded``.
    func startLogin(for id: AccountID, replacing previous: String?, secondFactorDone: Bool, now: Date,
                    lifetime: TimeInterval, idleTimeout: TimeInterval) async throws -> NewWebSession
    /// The second step: accepts TOTP time step `step` (as ``acceptTOTPStep(_:for:)``) and only then replaces the
    /// pending session of cookie token `pending` by a full one and audits ``AuditEvent/loginSucceeded``; nil, and
    /// nothing changed, when the step was used before (on any node).
    func completeLogin(acceptingStep step: Int64, for id: AccountID, replacing pending: String, now: Date,
                       lifetime: TimeInterval) async throws -> NewWebSession?
    /// Enrolment at login: if the account has no second factor yet, stores `secret` with `acceptedStep` used
    /// (audited as ``enrolSecondFactor(secret:acceptedStep:for:)``), replaces the pending session of cookie token
    /// `pending` by a full one and audits ``AuditEvent/loginSucceeded``; nil, and nothing changed, when the account
    /// has a second factor already (or is gone).
    func completeLogin(enrolling secret: String, acceptedStep: Int64, for id: AccountID, replacing pending: String,
                       now: Date, lifetime: TimeInterval) async throws -> NewWebSession?
    /// Logout: deletes the session of cookie token `token` and audits ``AuditEvent/loggedOut`` with
    /// ``LogoutReason/logout`` and `id` as actor.
    func logOut(token: String, of id: AccountID) async throws
    /// Audits one ``AuditEvent/loginFailed`` per reason code, in order (`actor`: the account, where known).
    func auditLoginFailure(reasons: [Int], actor: AccountID?) async throws
    /// The account's own password change, as ``WriteTransaction/changeOwnPassword(of:passwordHash:keptSession:)``
    /// (new hash, ``Account/mustChangePassword`` cleared, every other session ended, ``AuditEvent/passwordChanged``
    /// audited); returns the changed account.
    /// - Throws: ``ThreadStoreError/invalidValue`` (not a bcrypt hash); ``ThreadStoreError/accountNotFound``.
    func changeOwnPassword(of id: AccountID, passwordHash: String, keptSession: String) async throws -> Account

    // MARK: Rate limits

    /// The keyed HMAC of a canonical sender address.
    func senderHMAC(canonicalAddress: String) -> SenderHMAC
    /// The redirect once per `period` (as ``WriteTransaction/shouldSendRedirect(to:now:period:)``): of several
    /// callers racing for one sender, exactly one gets true.
    func shouldSendRedirect(to sender: SenderHMAC, now: Date, period: TimeInterval) async throws -> Bool
    /// As ``WriteTransaction/recordOnce(_:now:period:)``.
    func recordOnce(_ token: String, now: Date, period: TimeInterval) async throws -> Bool

    // MARK: Login-failure locks

    /// The lock record of a rate-limit key (`user:anna`, `ip:192.0.2.1`, `account:<id>:<epoch>`), nil if none.
    func loginLock(_ key: String) async throws -> LoginLockRecord?
    /// Applies `change` (the limiter's pure rule, run again if the engine retries) to the record of `key` (a new
    /// record if none) and stores the result, atomically against every other caller; returns the stored record.
    func updateLoginLock(_ key: String, now: Date, _ change: @escaping @Sendable (inout LoginLockRecord) -> Void)
        async throws -> LoginLockRecord
}

/// What the login limiter remembers of one key: recent failures, the lock's end and how many locks in a row.
/// Times are kept to the millisecond on every engine; at most ``maximumFailures`` failures (the newest) are kept.
public struct LoginLockRecord: Sendable, Hashable {
    /// Failures not yet counted into a lock, oldest first.
    public var failures: [Date]
    /// When the current or last lock ends.
    public var lockedUntil: Date?
    /// Locks in a row (for escalation).
    public var locks: Int
    /// When the record was last changed (engines set it; prunes forget the stalest records first).
    public var changedAt: Date

    /// The most failures a record keeps.
    public static let maximumFailures = 64

    /// A record.
    public init(failures: [Date] = [], lockedUntil: Date? = nil, locks: Int = 0, changedAt: Date = .distantPast) {
        self.failures = failures
        self.lockedUntil = lockedUntil
        self.locks = locks
        self.changedAt = changedAt
    }

    /// The record as every engine stores it: times to the millisecond, the newest ``maximumFailures`` failures,
    /// `locks` not negative.
    public func normalised(changedAt now: Date) -> LoginLockRecord {
        let ms = { (date: Date) in StoreTime.date(StoreTime.milliseconds(date)) }
        return LoginLockRecord(failures: failures.suffix(Self.maximumFailures).map(ms),
                               lockedUntil: lockedUntil.map(ms), locks: max(0, locks), changedAt: ms(now))
    }
}
