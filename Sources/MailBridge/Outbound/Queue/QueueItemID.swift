/// The identity of one outbox item: the store's own ID of its row (ThreadStore's `OutboxItemID`, 32 random hex
/// characters), so the queue, the log's `queue.item`, the delivery journal and `mailbridge queue list` all name an
/// item the same way and no second mapping is needed. Opaque and random: safe to log (it says nothing about
/// sender, recipient or content).
public struct QueueItemID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public static func < (lhs: QueueItemID, rhs: QueueItemID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }
}
