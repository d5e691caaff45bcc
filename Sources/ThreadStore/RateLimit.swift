// Security: the auto-reply rate limit must not store sender addresses. It keys rows by HMAC-SHA256 (RFC 2104) of
// the canonical address under a key derived from the master key, so the table cannot be reversed by hashing
// guessed addresses without the master key.

import Crypto
import Foundation
import GRDB

enum RateLimit {
    static func hmac(canonicalAddress: String, keys: DerivedKeys) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(canonicalAddress.utf8), using: keys.sender))
    }

    /// The row of a thread's receipt time (issue 17): a prefix no canonical address can have.
    static func receiptKey(_ thread: ThreadID, keys: DerivedKeys) -> SenderHMAC {
        SenderHMAC(bytes: hmac(canonicalAddress: "\u{0}receipt \(thread.raw.text)", keys: keys))
    }

    /// Whether `sender` was recorded within `period` before `now` (``shouldSend(_:sender:now:period:)`` refuses).
    static func isLimited(_ db: Database, sender: SenderHMAC, now: Date, period: TimeInterval) throws -> Bool {
        let nowMS = now.storeMilliseconds
        guard let last = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT last_sent_at FROM sender_rate_limit WHERE sender_hmac = ?"),
            arguments: [sender.bytes]
        ) else { return false }
        return nowMS - last < Int64(period * 1000) && nowMS >= last
    }

    /// Check-and-record in one step; atomic because it runs inside the single writer's transaction.
    static func shouldSend(_ db: Database, sender: SenderHMAC, now: Date, period: TimeInterval) throws -> Bool {
        let nowMS = now.storeMilliseconds
        if try isLimited(db, sender: sender, now: now, period: period) { return false }
        try db.cachedStatement(
            sql: """
                INSERT INTO sender_rate_limit (sender_hmac, last_sent_at) VALUES (?, ?)
                ON CONFLICT (sender_hmac) DO UPDATE SET last_sent_at = excluded.last_sent_at
                """
        ).execute(
            arguments: [sender.bytes, nowMS]
        )
        return true
    }
}
