public import Foundation

extension WriteTransaction {
    /// Atomically decides whether a receipt may go to the client of `thread` and, if so, records it (audit
    /// ``AuditEvent/receiptQueued`` with the thread): returns `true` and stores `now` when no receipt was recorded
    /// for this thread within `period`, else `false` and changes nothing.
    ///
    /// The time is kept in the auto-reply rate-limit table under a keyed HMAC of the thread ID (with a prefix no
    /// canonical address can have), so it survives restarts, is forgotten by the same retention, and needs no
    /// column of its own.
    public func shouldSendReceipt(in thread: ThreadID, now: Date, period: TimeInterval) throws -> Bool {
        try requireThread(thread)
        let key = RateLimit.receiptKey(thread, keys: context.keys)
        guard try RateLimit.shouldSend(db, sender: key, now: now, period: period) else { return false }
        try AuditLog.append(db, at: self.now, event: .receiptQueued, thread: thread)
        return true
    }
}
