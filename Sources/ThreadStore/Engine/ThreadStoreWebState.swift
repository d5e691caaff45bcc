// Security: the web inbox's shared state on SQLite, through the transaction methods the web inbox called before it
// moved onto WebStateStore (no new SQL, no new sealing). Login-failure locks stay in this process's memory, as the
// limiter kept them before (one process owns a SQLite store), keyed by the same HMAC the PostgreSQL engine stores,
// and bounded.

public import Foundation

/// ``WebStateStore`` over a ``ThreadStore`` (SQLite): every method is one `read {}` or `write {}` of the store.
public final class ThreadStoreWebState: WebStateStore {
    /// The store.
    public let store: ThreadStore
    private let locks = LoginLockTable()
    private let secrets: StoreSecrets

    /// The shared state of `store`.
    public init(_ store: ThreadStore) {
        self.store = store
        secrets = StoreSecrets(keys: store.keys)
    }

    public func createAccount(_ new: NewAccount, actor: AccountID?, via channel: AuditChannel?) async throws
        -> AccountID
    {
        try await store.write(via: channel) { tx in try tx.createAccount(new, actor: actor) }
    }

    public func account(named username: String) async throws -> Account? {
        try await store.read { tx in try tx.account(named: username) }
    }

    public func loginCredentials(username: String) async throws -> LoginCredentials? {
        try await store.read { tx in try tx.loginCredentials(username: username) }
    }

    public func enrolSecondFactor(secret: String, acceptedStep: Int64, for id: AccountID) async throws {
        try await store.write(via: .browser) { tx in
            try tx.enrolSecondFactor(secret: secret, acceptedStep: acceptedStep, for: id)
        }
    }

    public func acceptTOTPStep(_ step: Int64, for id: AccountID) async throws -> Bool {
        try await store.write(via: .browser) { tx in try tx.acceptTOTPStep(step, for: id) }
    }

    public func createWebSession(for id: AccountID, secondFactorDone: Bool, now: Date, lifetime: TimeInterval)
        async throws -> NewWebSession
    {
        try await store.write(via: .browser) { tx in
            try tx.createWebSession(for: id, secondFactorDone: secondFactorDone, now: now, lifetime: lifetime)
        }
    }

    public func webSession(token: String, now: Date, idleTimeout: TimeInterval) async throws -> WebSession? {
        try await store.read { tx in try tx.webSession(token: token, now: now, idleTimeout: idleTimeout) }
    }

    public func authenticateWebSession(token: String, now: Date, idleTimeout: TimeInterval) async throws
        -> WebSession?
    {
        try await store.write(via: .browser) { tx in
            try tx.authenticateWebSession(token: token, now: now, idleTimeout: idleTimeout)
        }
    }

    public func deleteWebSession(token: String) async throws -> AccountID? {
        try await store.write(via: .browser) { tx in try tx.deleteWebSession(token: token) }
    }

    public func deleteWebSessions(of id: AccountID) async throws -> Int {
        try await store.write(via: .browser) { tx in try tx.deleteWebSessions(of: id) }
    }

    public func purgeExpiredWebSessions(now: Date, idleTimeout: TimeInterval) async throws -> Int {
        try await store.write { tx in try tx.purgeExpiredWebSessions(now: now, idleTimeout: idleTimeout) }
    }

    public func apiTokenCredential(token: String) async throws -> (account: Account, tokenID: APITokenID)? {
        try await store.read { tx in try tx.apiTokenCredential(token: token) }
    }

    public func senderHMAC(canonicalAddress: String) -> SenderHMAC {
        store.senderHMAC(canonicalAddress: canonicalAddress)
    }

    public func shouldSendRedirect(to sender: SenderHMAC, now: Date, period: TimeInterval) async throws -> Bool {
        try await store.write { tx in try tx.shouldSendRedirect(to: sender, now: now, period: period) }
    }

    public func recordOnce(_ token: String, now: Date, period: TimeInterval) async throws -> Bool {
        try await store.write { tx in try tx.recordOnce(token, now: now, period: period) }
    }

    public func loginLock(_ key: String) async throws -> LoginLockRecord? {
        locks.record(secrets.loginLockKey(key))
    }

    public func updateLoginLock(_ key: String, now: Date, _ change: @escaping @Sendable (inout LoginLockRecord) -> Void)
        async throws -> LoginLockRecord
    {
        locks.update(secrets.loginLockKey(key), now: now, change)
    }
}

/// Login-lock records in memory, at most ``capacity``. When full, a record that locks nothing now goes first, of
/// those one that never locked before one that did (a flood of fresh keys cannot push out the memory of a lock, as
/// the web inbox's limiter kept it), each group least recently changed first; only if every record locks, the least
/// recently changed one.
final class LoginLockTable: @unchecked Sendable {
    static let capacity = 10_000
    private let lock = NSLock()
    private var records: [Data: LoginLockRecord] = [:]

    func record(_ key: Data) -> LoginLockRecord? {
        lock.withLock { records[key] }
    }

    func update(_ key: Data, now: Date, _ change: (inout LoginLockRecord) -> Void) -> LoginLockRecord {
        lock.withLock {
            var record = records[key] ?? LoginLockRecord()
            change(&record)
            record = record.normalised(changedAt: now)
            if records[key] == nil, records.count >= Self.capacity, let victim = Self.evictable(records, now: now) {
                records[victim] = nil
            }
            records[key] = record
            return record
        }
    }

    /// The key of the record to drop when the table is full (see the type's comment).
    static func evictable(_ records: [Data: LoginLockRecord], now: Date) -> Data? {
        records.min { rank($0.value, now: now) < rank($1.value, now: now) }?.key
    }

    private static func rank(_ record: LoginLockRecord, now: Date) -> (Int, Int, Date) {
        let locking = record.lockedUntil.map { now < $0 } ?? false
        return (locking ? 1 : 0, locking ? 0 : record.locks, record.changedAt)
    }
}
