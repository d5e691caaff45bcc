public import Foundation

/// The kinds of audit events. Stored as integer codes; never with content.
public enum AuditEvent: Int, Hashable, Sendable {
    case threadCreated = 1
    case messageStored = 2
    case duplicateIgnored = 3
    case replayRejected = 4
    case threadDeleted = 5
    case threadDeletedByRetention = 6
    case outboxQueued = 7
    case outboxDelivered = 8
    case outboxFailed = 9
    case threadStateChanged = 10
    case retentionApplied = 11
    case backupWritten = 12
    case auditPruned = 13
    case outboxDeletedByRetention = 14
    /// Plain (or not cleanly encrypted) inbound mail: a redirect reply was queued; `count` holds no data.
    case inboundRedirected = 15
    /// Plain inbound mail whose redirect was suppressed; `count` is the reason code.
    case inboundRedirectSuppressed = 16
    /// Encrypted inbound mail that was not imported; `count` is the reason code.
    case inboundEncryptedRejected = 17
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
