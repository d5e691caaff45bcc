public import ThreadStore

/// The one way mail enters the outbox (docs/architecture.md, "The two funnels"): redirect texts, notices,
/// digests, receipts, key requests and counsellors' replies are all queued here, inside the transaction that
/// caused them, so the mail and its cause commit together or not at all. Once that transaction has committed,
/// the outbox wakes the ``OutboundQueue``, so a queued item is handed to the smarthost at once instead of at
/// the queue's next poll.
///
/// ```swift
/// let outbox = Outbox(wake: { queue.kick() })
/// try await store.write { tx in
///     let thread = try tx.importMessage(message)
///     try outbox.enqueue(notice(for: thread), in: tx)
/// }  // committed: the queue is awake
/// ```
public struct Outbox: Sendable {
    private let wake: @Sendable () -> Void

    /// - Parameter wake: called after each transaction that queued something has committed; must return at
    ///   once (it runs on the store's writer). Without it (tests, one-shot commands) items wait for the poll.
    public init(wake: @escaping @Sendable () -> Void = {}) {
        self.wake = wake
    }

    /// Queues `item` in `tx`. The queue is woken when `tx` commits, never if it rolls back.
    @discardableResult
    public func enqueue(_ item: NewOutboxItem, in tx: WriteTransaction) throws -> OutboxItemID {
        let id = try tx.enqueueOutbox(item)
        tx.afterCommit(wake)
        return id
    }

    /// Wakes the queue once `tx` commits, for items the store itself moves into the outbox inside `tx` (held
    /// replies released by ``WriteTransaction/releaseHeldReply(_:as:)``).
    public func wakeAfterCommit(of tx: WriteTransaction) {
        tx.afterCommit(wake)
    }

    /// Wakes the queue now, for items an engine queued in a transaction that has committed (``InboundStore``'s
    /// steps return what they queued).
    public func wakeAfterCommit() {
        wake()
    }
}
