public import Foundation

/// The life-cycle state of a thread, stored as a small integer code.
public enum ThreadState: Int, Hashable, Sendable, CaseIterable {
    /// New or ongoing conversation.
    case open = 0
    /// A counsellor answered; waiting for the client.
    case awaitingClient = 1
    /// Closed by a counsellor; a new client message reopens it.
    case closed = 2
}

/// Who the client of a thread is: their key and address, and the counselling field they wrote to.
public struct ClientIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The counselling field (service mailbox) the client wrote to.
    public var field: CounsellingField
    /// The fingerprint of the client's OpenPGP key (the thread's identity: a thread belongs to one key).
    public var key: ClientKeyFingerprint
    /// The client's mail address (stored sealed).
    public var address: ClientAddress

    /// Creates an identity.
    public init(field: CounsellingField, key: ClientKeyFingerprint, address: ClientAddress) {
        self.field = field
        self.key = key
        self.address = address
    }

    public var description: String { "ClientIdentity(<redacted>)" }
}

/// A thread as listed for counsellors: metadata only, nothing decrypted.
public struct ThreadSummary: Hashable, Sendable, CustomStringConvertible {
    /// The thread's ID.
    public var id: ThreadID
    /// The counselling field.
    public var field: CounsellingField
    /// The state.
    public var state: ThreadState
    /// When the thread was created.
    public var createdAt: Date
    /// When the last message was stored (retention counts from here).
    public var lastActivityAt: Date
    /// Number of messages in both directions.
    public var messageCount: Int
    /// Number of inbound messages not yet marked read.
    public var unreadCount: Int

    public var description: String {
        "ThreadSummary(\(id), state: \(state), messages: \(messageCount), unread: \(unreadCount))"
    }
}

/// An opened thread: its summary, the decrypted client identity and all messages, oldest first.
public struct OpenedThread: Sendable, CustomStringConvertible {
    /// Metadata as in the list.
    public var summary: ThreadSummary
    /// The client's key fingerprint (decrypted); nil for a thread without key (issue 17: no key to reply to yet).
    public var clientKey: ClientKeyFingerprint?
    /// The client's address (decrypted).
    public var clientAddress: ClientAddress
    /// All messages, oldest first, decrypted.
    public var messages: [StoredMessage]
    /// The counsellor replies that wait for a usable client key (not sent), oldest first.
    public var heldReplies: [StoredMessageID] = []

    /// A thread as an engine opened it.
    public init(summary: ThreadSummary, clientKey: ClientKeyFingerprint?, clientAddress: ClientAddress,
                messages: [StoredMessage], heldReplies: [StoredMessageID] = []) {
        self.summary = summary
        self.clientKey = clientKey
        self.clientAddress = clientAddress
        self.messages = messages
        self.heldReplies = heldReplies
    }

    public var description: String { "OpenedThread(\(summary.id), messages: \(messages.count))" }
}

/// What replying to a thread needs (see ``ReadTransaction/replyBasis(_:)``): no message bodies, no attachments.
public struct ReplyBasis: Sendable, CustomStringConvertible {
    /// The Message-ID and subject of an inbound message (decrypted).
    public struct InboundHeaders: Sendable {
        public var messageID: String
        public var subject: String
    }

    /// Metadata as in the list.
    public var summary: ThreadSummary
    /// The client's key fingerprint (decrypted); nil for a thread without key (issue 17: no key to reply to yet).
    public var clientKey: ClientKeyFingerprint?
    /// The client's address (decrypted).
    public var clientAddress: ClientAddress
    /// The newest inbound message's headers, if the thread has one.
    public var lastInbound: InboundHeaders?

    public var description: String { "ReplyBasis(\(summary.id), <redacted>)" }
}
