/// The ID of one accepted inbound message, shown in the 250 reply and logs (like Postfix queue IDs).
/// 12 hex digits of milliseconds since 1970 followed by 8 random hex digits: sortable by arrival, not guessable,
/// and safe as a file name. Holds no personal data.
public struct QueueID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// Validates a stored ID: exactly 20 lower-case hex digits.
    public init?(_ rawValue: String) {
        guard rawValue.utf8.count == 20,
            rawValue.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        self.rawValue = rawValue
    }

    /// A new ID for `millisecondsSince1970`.
    public static func make(millisecondsSince1970: UInt64) -> QueueID {
        let time = String(millisecondsSince1970 & 0xFFFF_FFFF_FFFF, radix: 16)
        let random = String(UInt32.random(in: .min ... .max), radix: 16)
        let text =
            String(repeating: "0", count: 12 - time.count) + time + String(repeating: "0", count: 8 - random.count)
            + random
        return QueueID(text)!
    }

    public var description: String { rawValue }

    public static func < (lhs: QueueID, rhs: QueueID) -> Bool { lhs.rawValue < rhs.rawValue }
}
