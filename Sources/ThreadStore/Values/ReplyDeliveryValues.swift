// Security: delivery metadata of counsellor replies: an account ID and a state. No content.

/// How far a counsellor reply got (issue 22), from the outbox: shown beside each reply in the inbox.
public enum ReplyDeliveryState: String, Hashable, Sendable, CaseIterable {
    /// In the outbox, waiting for its (next) attempt.
    case queued
    /// Handed to the smarthost (its outbox item was delivered).
    case sent
    /// Not sent: the client key cannot be used yet (see ``ReadTransaction/heldReplyIDs(in:)``).
    case held
    /// The outbox gave up on it.
    case failed

    /// The stored code (`reply_delivery.state`); `held` is not stored but read from `held_reply`.
    var storedCode: Int? {
        switch self {
        case .queued: 0
        case .sent: 1
        case .failed: 2
        case .held: nil
        }
    }

    init?(storedCode: Int) {
        switch storedCode {
        case 0: self = .queued
        case 1: self = .sent
        case 2: self = .failed
        default: return nil
        }
    }
}

/// Who wrote a counsellor reply and how far it got. Both may be unknown for replies stored before schema v17.
public struct ReplyDelivery: Hashable, Sendable, CustomStringConvertible {
    /// The account that wrote it; nil for the command line or when unknown.
    public var author: AccountID?
    /// Nil when unknown (replies stored before v17).
    public var state: ReplyDeliveryState?

    public init(author: AccountID?, state: ReplyDeliveryState?) {
        self.author = author
        self.state = state
    }

    public var description: String { "ReplyDelivery(\(state?.rawValue ?? "unknown"))" }
}
