// Security: the login limiter's rule applied to one stored record (``LoginLockRecord``), so that the web inbox's
// locks live in its store (``WebStateStore``) and are shared by every gateway node on one database. Pure: no I/O,
// no clock; the store runs it inside its transaction (again, if the engine retries).

public import Foundation
public import ThreadStore

extension LoginRateLimit {
    /// Whether `record` locks its key at `now`.
    public static func isLocked(_ record: LoginLockRecord?, now: Date) -> Bool { lockedUntil(record, now: now) != nil }

    /// When the lock of `record` ends, if it locks its key at `now`.
    public static func lockedUntil(_ record: LoginLockRecord?, now: Date) -> Date? {
        guard let until = record?.lockedUntil, now < until else { return nil }
        return until
    }

    /// Counts a failure of `key` into its record, unless the key is locked already (a refused try counts for
    /// nothing); returns whether this failure locked it.
    ///
    /// ```swift
    /// let record = try await state.updateLoginLock(key, now: now) { limit.countFailure(in: &$0, key: key, now: now) }
    /// ```
    @discardableResult
    public func countFailure(in record: inout LoginLockRecord, key: String, now: Date) -> Bool {
        guard !Self.isLocked(record, now: now) else { return false }
        addFailure(to: &record, key: key, now: now)
        return Self.isLocked(record, now: now)
    }

    /// A successful login: forgets the failures; a running lock stays, an ended one is forgotten with its
    /// escalation (as ``recordSuccess(_:now:)`` drops the key).
    public func countSuccess(in record: inout LoginLockRecord, now: Date) {
        if Self.isLocked(record, now: now) {
            record.failures = []
        } else {
            record = LoginLockRecord(changedAt: record.changedAt)
        }
    }

    /// Whether a success would change `record` (a record with no failures and no lock to keep needs no write).
    public static func remembersAnything(_ record: LoginLockRecord) -> Bool {
        !record.failures.isEmpty || record.lockedUntil != nil || record.locks != 0
    }
}
