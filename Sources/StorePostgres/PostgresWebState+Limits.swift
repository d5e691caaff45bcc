// Security: rate limits and login-failure locks on PostgreSQL. Rows are keyed by keyed HMACs (StoreSecrets): the
// database holds no sender address, user name or client address, only HMACs, times and counts.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresWebState {
    /// The rule of ThreadStore's `RateLimit.shouldSend` in one statement: insert the sender, or move its time to
    /// `now` unless a reply went to it within `period` before (a time in the future, after the clock went back,
    /// does not block). `ON CONFLICT DO UPDATE` locks the row, so of several nodes racing for one sender exactly
    /// one gets a row back.
    public func shouldSendRedirect(to sender: SenderHMAC, now: Date, period: TimeInterval) async throws -> Bool {
        try await recordSend(sender.storedBytes, now: now, period: period)
    }

    public func recordOnce(_ token: String, now: Date, period: TimeInterval) async throws -> Bool {
        try await recordSend(secrets.onceKey(token).storedBytes, now: now, period: period)
    }

    private func recordSend(_ key: Data, now: Date, period: TimeInterval) async throws -> Bool {
        let at = StoreTime.milliseconds(now)
        let periodMS = Int64(period * 1000)
        let logger = self.logger
        return try await database.write { connection in
            try await PostgresAccountRows.changed(connection.query("""
                INSERT INTO sender_rate_limit AS r (sender_hmac, last_sent_at) VALUES (\(key), \(at))
                ON CONFLICT (sender_hmac) DO UPDATE SET last_sent_at = excluded.last_sent_at
                WHERE NOT (excluded.last_sent_at - r.last_sent_at < \(periodMS)
                           AND excluded.last_sent_at >= r.last_sent_at)
                RETURNING r.sender_hmac
                """, logger: logger)) == 1
        }
    }

    public func loginLock(_ key: String) async throws -> LoginLockRecord? {
        let hmac = secrets.loginLockKey(key)
        let logger = self.logger
        return try await database.read { connection in
            try await Self.lockRecord(connection, hmac: hmac, lock: false, logger: logger)
        }
    }

    /// Reads the record with `FOR UPDATE` (a second node waits for this one), applies `change` and writes it back,
    /// in one `SERIALIZABLE` transaction; two nodes adding the first record of a key at once conflict, and the
    /// loser runs again on the winner's record. No failure is lost.
    public func updateLoginLock(
        _ key: String, now: Date, _ change: @escaping @Sendable (inout LoginLockRecord) -> Void
    ) async throws -> LoginLockRecord {
        let hmac = secrets.loginLockKey(key)
        let logger = self.logger
        return try await database.write { connection in
            var record = try await Self.lockRecord(connection, hmac: hmac, lock: true, logger: logger)
                ?? LoginLockRecord()
            change(&record)
            record = record.normalised(changedAt: now)
            let failures = record.failures.map(StoreTime.milliseconds)
            let until = record.lockedUntil.map(StoreTime.milliseconds)
            let changedAt = StoreTime.milliseconds(record.changedAt)
            try await connection.query("""
                INSERT INTO login_lock (key_hmac, failures, locked_until, locks, changed_at)
                VALUES (\(hmac), \(failures), \(until), \(record.locks), \(changedAt))
                ON CONFLICT (key_hmac) DO UPDATE SET failures = excluded.failures,
                    locked_until = excluded.locked_until, locks = excluded.locks, changed_at = excluded.changed_at
                """, logger: logger)
            return record
        }
    }

    /// Forgets lock records not changed since `date` (retention: after the limiter's escalation memory, a record
    /// decides nothing any more); returns how many.
    public func pruneLoginLocks(changedBefore date: Date) async throws -> Int {
        try await deleting("DELETE FROM login_lock WHERE changed_at < \(StoreTime.milliseconds(date)) RETURNING locks")
    }

    /// Runs one `DELETE … RETURNING …` in its own transaction; returns how many rows it removed.
    func deleting(_ query: PostgresQuery) async throws -> Int {
        let logger = self.logger
        return try await database.write { connection in
            try await PostgresAccountRows.changed(connection.query(query, logger: logger))
        }
    }

    static func lockRecord(_ connection: PostgresConnection, hmac: Data, lock: Bool, logger: Logger) async throws
        -> LoginLockRecord?
    {
        let rows = lock
            ? try await connection.query(
                "SELECT failures, locked_until, locks, changed_at FROM login_lock WHERE key_hmac = \(hmac) FOR UPDATE",
                logger: logger)
            : try await connection.query(
                "SELECT failures, locked_until, locks, changed_at FROM login_lock WHERE key_hmac = \(hmac)",
                logger: logger)
        for try await (failures, until, locks, changed) in rows.decode(([Int64], Int64?, Int, Int64).self) {
            return LoginLockRecord(failures: failures.map(StoreTime.date), lockedUntil: until.map(StoreTime.date),
                                   locks: locks, changedAt: StoreTime.date(changed))
        }
        return nil
    }
}
