public import Foundation

/// What an outbox item is for.
public enum OutboxKind: Int, Hashable, Sendable, CaseIterable {
    /// The fixed redirect reply to plain (unencrypted) mail.
    case redirectReply = 0
    /// A counsellor's encrypted reply in a thread.
    case counsellorReply = 1
    /// A notification (for example to counsellors about a new message), without content.
    case notification = 2
    /// A delivery status notification.
    case deliveryStatus = 3
    /// The signed, encrypted acknowledgement to a client whose validly signed message was imported (issue 17).
    case receipt = 4
}

/// The delivery state of an outbox item. Delivered items are deleted.
public enum OutboxState: Int, Hashable, Sendable, CaseIterable {
    /// Waiting for its next attempt.
    case pending = 0
    /// Given up; kept until its thread is deleted or retention removes it.
    case failed = 1
}

/// An outbound mail to queue. Recipient and payload are sealed.
public struct NewOutboxItem: Sendable, CustomStringConvertible {
    /// The thread the item belongs to (sealed with its data key, deleted with it), or `nil`.
    public var thread: ThreadID?
    /// What it is.
    public var kind: OutboxKind
    /// The envelope recipient.
    public var recipient: ClientAddress
    /// The complete message to send (already encrypted to the client for thread replies).
    public var payload: [UInt8]
    /// The earliest time to try.
    public var notBefore: Date

    /// Creates an item.
    public init(thread: ThreadID?, kind: OutboxKind, recipient: ClientAddress, payload: [UInt8], notBefore: Date) {
        self.thread = thread
        self.kind = kind
        self.recipient = recipient
        self.payload = payload
        self.notBefore = notBefore
    }

    public var description: String { "NewOutboxItem(\(kind), \(payload.count) bytes, <redacted>)" }
}

/// A queued outbound mail, decrypted for sending.
public struct OutboxItem: Sendable, CustomStringConvertible {
    /// Its ID.
    public var id: OutboxItemID
    /// Its thread, if any.
    public var thread: ThreadID?
    /// What it is.
    public var kind: OutboxKind
    /// Pending or failed.
    public var state: OutboxState
    /// Attempts made so far.
    public var attempts: Int
    /// The next attempt time.
    public var nextAttemptAt: Date
    /// When the item was queued (a retry policy's maximum age counts from here).
    public var queuedAt: Date
    /// The envelope recipient.
    public var recipient: ClientAddress
    /// The message to send.
    public var payload: [UInt8]

    public var description: String { "OutboxItem(\(id), \(kind), \(state), attempts: \(attempts))" }
}
