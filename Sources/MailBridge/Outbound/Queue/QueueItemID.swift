public import ThreadStore

/// The identity of one outbox item: the store's own ID of its row (``OutboxItemID``, 32 random hex characters),
/// held as that type, so the queue, the log's `queue.item`, the delivery journal and `mailbridge queue list` all
/// name an item the same way and nothing is mapped or parsed between them. Opaque and random: safe to log (it
/// says nothing about sender, recipient or content), so ``description`` shows it.
public struct QueueItemID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The store's row.
    public let outboxItem: OutboxItemID

    public init(_ outboxItem: OutboxItemID) {
        self.outboxItem = outboxItem
    }

    /// The ID as text: for the log, the journal and the command line.
    public var rawValue: String { outboxItem.unredactedDescription }

    public static func < (lhs: QueueItemID, rhs: QueueItemID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }
}
