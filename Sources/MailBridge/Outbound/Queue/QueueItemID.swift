/// The identity of one outbox row. Opaque; safe to log (it says nothing about sender, recipient or content).
public struct QueueItemID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int64

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: QueueItemID, rhs: QueueItemID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "Q\(rawValue)" }
}
