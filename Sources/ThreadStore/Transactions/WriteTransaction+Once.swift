public import Foundation

extension WriteTransaction {
    /// Atomically records that the event named by `token` has been acted on and returns `true`, unless it was
    /// recorded within `period` before (then `false`, and nothing changes). For actions that a retry after a crash
    /// must not repeat, decided in the same transaction as the action itself (issue 28: the team notice for an IMAP
    /// message set aside is queued before the server move, and a move retried after a kill queues no second one).
    ///
    /// `token` must be content-free (a source hash and UIDs, say); it is kept only as a keyed HMAC, in the auto-reply
    /// rate-limit table under a prefix no canonical address can have, so it is forgotten by the same retention.
    ///
    /// ```swift
    /// let first = try await store.write { tx in
    ///     try tx.recordOnce("fetch-failed 1a2b 7 42", now: .now, period: 86_400)
    /// }
    /// ```
    public func recordOnce(_ token: String, now: Date, period: TimeInterval) throws -> Bool {
        let key = SenderHMAC(bytes: RateLimit.hmac(canonicalAddress: "\u{0}once \(token)", keys: context.keys))
        return try RateLimit.shouldSend(db, sender: key, now: now, period: period)
    }
}
