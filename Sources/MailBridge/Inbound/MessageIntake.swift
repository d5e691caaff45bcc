/// The durable hand-over point for inbound messages (mox `queue.Add`, STYLE.md §10).
///
/// When `accept` returns, the message must survive a crash or power loss; only then may SMTP answer 250.
/// It must not look at the content beyond what it needs to store it: the SMTP reply to DATA never depends on
/// whether the content later decrypts.
public protocol MessageIntake: Sendable {
    /// Stores `message` durably. `message.spoolFile` is a complete, fsynced temporary file that the intake takes
    /// over (moves or deletes). Throws when the message could not be stored; the caller answers 451 4.3.0.
    func accept(_ message: InboundMessage) async throws -> IntakeReceipt
}

/// Proof that a message was stored durably.
public struct IntakeReceipt: Hashable, Sendable {
    public var queueID: QueueID
    /// Where the message now lives.
    public var location: String

    public init(queueID: QueueID, location: String) {
        self.queueID = queueID
        self.location = location
    }
}
