import GRDB

extension WriteTransaction {
    /// Runs `action` once this transaction has committed (after the commit is durable), and never if it rolls
    /// back. For wake-ups of work that reads what the transaction wrote (the outbound queue after
    /// an outbox row): they must not run before the row is visible, nor at all for a row that never was.
    ///
    /// `action` runs on the store's writer: it must return at once (signal, do not work).
    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        db.afterNextTransaction(onCommit: { _ in action() })
    }
}
