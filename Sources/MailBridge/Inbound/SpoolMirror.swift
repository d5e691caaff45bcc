public import Foundation

/// A durable copy of the spool outside this node (issue 21: PostgreSQL's shared spool,
/// docs/postgresql.md "The spool with several nodes"). The spool folder stays the node's working copy, which the
/// pipeline reads; the mirror is what counts when the node dies for good: another node takes its messages over.
///
/// The protocol of one message: ``SpoolIntake/accept(_:)`` records it here before its own commit (so before the
/// `250`); the pipeline runner synchronizes before each round (``synchronize(_:)``, ``locate(_:)``) and releases
/// a message once the pipeline committed its outcome (``release(_:)``). A crash between any two steps leaves the
/// message where some node processes it again, and the store recognises a repeat (duplicate import, rate-limited
/// redirect).
public protocol SpoolMirror: Sendable {
    /// Stores message `queueID` (its envelope record and the complete, fsynced file at `messageFile`) durably
    /// outside this node, held by this node. Recording a message again is harmless.
    /// - Throws: ``SpoolMirrorUnavailable`` when the mirror cannot be reached (the caller keeps the message
    ///   locally and records it later); anything else is a failure to accept the message.
    func record(_ queueID: QueueID, envelope: Data, messageFile: String) async throws

    /// Renews this node's hold on its messages, takes over those of nodes that stopped renewing theirs (as far as
    /// this node could restore what it took before), and writes the messages this node holds but `spool` lacks
    /// into `spool` (``SpoolIntake/restore(_:content:)``). A message that fails to restore is logged and
    /// skipped; the others go on.
    func synchronize(_ spool: SpoolIntake) async throws

    /// Where the mirror's copies of `ids` are; an ID without an answer has none (processed, or never recorded).
    func locate(_ ids: [QueueID]) async throws -> [QueueID: SpoolCopyState]

    /// Message `queueID` was processed (or left the spool for the quarantine): no node needs it any more.
    func release(_ queueID: QueueID) async throws

    /// Renews this node's hold on its messages; called every ``renewInterval`` while the runner runs.
    func renew() async throws

    /// How often ``renew()`` must run for the hold not to run out.
    var renewInterval: Duration { get }
}

/// Where the mirror's copy of a message in this node's spool is.
public enum SpoolCopyState: Sendable, Hashable {
    /// Held by this node: it processes the message.
    case mine
    /// Held by another node, which took it over: this node leaves its copy alone until that node is done.
    case elsewhere
    /// Damaged, or held under a lease no node sets: not trusted; this node processes its own copy.
    case unusable
}

/// The mirror cannot be reached now (the database is away); the message may be kept locally.
public struct SpoolMirrorUnavailable: Error, Sendable, CustomStringConvertible {
    /// The underlying error's description (no content: queue IDs and error codes only).
    public var reason: String

    public init(reason: String) { self.reason = reason }

    public var description: String { "the shared spool is unreachable (\(reason))" }
}
