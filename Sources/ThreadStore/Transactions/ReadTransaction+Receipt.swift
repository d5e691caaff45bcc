public import Foundation

extension ReadTransaction {
    /// Whether ``WriteTransaction/shouldSendReceipt(in:now:period:)`` would refuse a receipt in `thread` at `now`:
    /// one was recorded there within `period`. Reads only (issue 23: the pipeline then encrypts no receipt that the
    /// import's transaction would drop). A later write only moves the recorded time forward, so a refusal seen here
    /// still holds in that transaction; the transaction decides every other case itself.
    public func receiptIsRateLimited(in thread: ThreadID, now: Date, period: TimeInterval) throws -> Bool {
        try RateLimit.isLimited(db, sender: RateLimit.receiptKey(thread, keys: context.keys), now: now, period: period)
    }

    /// Whether a thread awaits `identity`'s key (issue 17), which ``WriteTransaction/giveAwaitedKey(_:)`` would give
    /// it: the same lookup, reading only.
    public func threadAwaitsKey(of identity: ClientIdentity) throws -> Bool {
        for name in AwaitedSignerID.names(of: identity.key) {
            let client = AwaitingKeyClient(field: identity.field, address: identity.address, signer: name)
            if try Queries.findAwaitingKeyThread(db, context: context, client: client) != nil { return true }
        }
        return false
    }
}
