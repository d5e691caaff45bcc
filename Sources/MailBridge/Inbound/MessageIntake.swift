/// The durable hand-over point for inbound messages (mox `queue.Add`, STYLE.md §10).
///
/// When `accept` returns, the message must survive a crash or power loss; only then may SMTP answer 250.
/// It must not look at the content beyond what it needs to store it: the SMTP reply to DATA never depends on
/// whether the content later decrypts.
///
/// It is the one door into the spool: the SMTP listener and the IMAP fetcher get a new spool file from it for each
/// message they receive, write and fsync it, and hand it back through ``accept(_:)``.
public protocol MessageIntake: Sendable {
    /// A new, empty temporary spool file for a message about to be received.
    func makeSpoolFile(queueID: QueueID) throws -> SpoolFile
    /// Stores `message` durably. `message.spoolFile` is a complete, fsynced temporary file that the intake takes
    /// over (moves or deletes). Throws when the message could not be stored; the caller answers 451 4.3.0.
    func accept(_ message: InboundMessage) async throws -> IntakeReceipt
    /// How many accepted messages still wait for the pipeline. The IMAP fetcher holds back while this is high.
    func backlogCount() -> Int
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
