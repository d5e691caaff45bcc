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

    /// Check-and-record in one step; atomic because it runs inside the single writer's transaction.
    static func shouldSend(_ db: Database, sender: SenderHMAC, now: Date, period: TimeInterval) throws -> Bool {
        let nowMS = now.storeMilliseconds
        if let last = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT last_sent_at FROM sender_rate_limit WHERE sender_hmac = ?"),
            arguments: [sender.bytes]
        ),
            nowMS - last < Int64(period * 1000), nowMS >= last
        {
            return false
        }
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
