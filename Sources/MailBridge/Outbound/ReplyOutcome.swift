public import ThreadStore

/// What ``ReplyComposer/queueReply(thread:text:counsellor:)`` did. Opaque IDs only.
public enum ReplyOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The reply was encrypted to the client key, stored in the thread and queued.
    case queued(OutboxItemID, StoredMessageID)
    /// The client key cannot be used (or the thread has none yet): the reply was stored in the thread as *held*
    /// (sealed; sent encrypted once a usable key arrives, see ``HeldReplyRelease``) and only the fixed,
    /// content-free "a reply is waiting, please send your current key" notice was queued.
    case keyUnusable(KeyProblem, notice: OutboxItemID, stored: StoredMessageID)

    /// Why a client key cannot be used for a reply.
    public enum KeyProblem: String, Sendable, Hashable, CaseIterable {
        /// Not in the gateway keyring.
        case missing
        case expired
        case revoked
        /// Disabled, invalid or without an encryption-capable subkey.
        case unusable

        /// The reason code stored with ``AuditEvent/replyKeyUnusable``: explicit, never the case's position
        /// (pinned by `StoredReasonCodeTests`).
        public var storedCode: Int {
            switch self {
            case .missing: 1
            case .expired: 2
            case .revoked: 3
            case .unusable: 4
            }
        }
    }

    public var description: String {
        switch self {
        case .queued: "queued(encrypted)"
        case .keyUnusable(let problem, _, _): "keyUnusable(\(problem.rawValue))"
        }
    }
}

/// Why a reply could not be queued at all. The description carries no content and no addresses.
public struct ReplyError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The reply text is empty or larger than ``ReplyComposer/maximumTextBytes``.
        case invalidText
        /// The thread's counselling field has no configured mailbox.
        case noMailbox
        /// The stored client address is not a valid mail address.
        case invalidClientAddress
    }

    public let code: Code
    public init(_ code: Code) { self.code = code }
    public static func == (lhs: ReplyError, rhs: ReplyError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
    public var description: String { "ReplyError(\(code.rawValue))" }
}
