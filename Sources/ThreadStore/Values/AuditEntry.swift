public import Foundation

/// The kinds of audit events. Stored as integer codes; never with content.
public enum AuditEvent: Int, Hashable, Sendable {
    /// A thread was created for a client.
    case threadCreated = 1
    /// A message was stored (item: the message ID).
    case messageStored = 2
    /// An import matched a stored message and wrote nothing (item: the stored message ID).
    case duplicateIgnored = 3
    /// An import carried an encrypted payload seen before and wrote nothing.
    case replayRejected = 4
    /// A thread was deleted on request (crypto-shredded).
    case threadDeleted = 5
    /// A thread was deleted by the retention policy (crypto-shredded).
    case threadDeletedByRetention = 6
    /// An outbox item was queued (item: its ID; count: its kind code).
    case outboxQueued = 7
    /// An outbox item was delivered and deleted.
    case outboxDelivered = 8
    /// An outbox item failed permanently.
    case outboxFailed = 9
    /// A thread's state changed (count: the new state code).
    case threadStateChanged = 10
    /// A retention run finished (count: threads deleted).
    case retentionApplied = 11
    /// An online backup was written.
    case backupWritten = 12
    /// Old audit entries were pruned by retention (count: entries removed).
    case auditPruned = 13
    /// Failed thread-less outbox items were deleted by retention (count: items).
    case outboxDeletedByRetention = 14
    /// Plain (or not cleanly encrypted) inbound mail: a redirect reply was queued; `count` holds no data.
    case inboundRedirected = 15
    /// Plain inbound mail whose redirect was suppressed; `count` is the reason code.
    case inboundRedirectSuppressed = 16
    /// Encrypted inbound mail that was not imported; `count` is the reason code.
    case inboundEncryptedRejected = 17
    /// A counsellor's reply could not be encrypted (client key missing, expired or revoked); only the fixed
    /// "a reply is waiting" notice went out. Recorded with the thread, so the counsellor side can show it.
    case replyKeyUnusable = 18
}

/// One audit log row: when, what, which IDs, and a count. Never content, addresses or key material.
public struct AuditEntry: Hashable, Sendable, CustomStringConvertible {
    /// Monotonic row number.
    public var sequence: Int64
    /// When it happened.
    public var at: Date
    /// What happened.
    public var event: AuditEvent
    /// The thread concerned, if any (an opaque random ID; it stays after the thread is deleted).
    public var thread: ThreadID?
    /// A message or outbox item ID (32 hex characters), if any.
    public var itemID: String?
    /// A count (for example threads deleted by a retention run).
    public var count: Int?

    public var description: String { "AuditEntry(#\(sequence), \(event))" }
}
