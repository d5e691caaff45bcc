public import Foundation

/// A durable copy of the spool outside this node (issue 21: PostgreSQL's shared spool,
/// docs/postgresql.md "The spool with several nodes"). The spool folder stays the node's working copy, which the
/// pipeline reads; the mirror is what counts when the node dies for good: another node takes its messages over.
///
/// The protocol of one message: ``SpoolIntake/accept(_:)`` records it here before its own commit (so before the
/// `250`); the pipeline runner synchronizes before each round (``synchronize(_:local:)``) and releases a message
/// once the pipeline committed its outcome (``release(_:)``). A crash between any two steps leaves the message
/// where some node processes it again, and the store recognises a repeat (duplicate import, rate-limited redirect).
public protocol SpoolMirror: Sendable {
    /// Stores message `queueID` (its envelope record and the complete, fsynced file at `messageFile`) durably
    /// outside this node, held by this node.
    func record(_ queueID: QueueID, envelope: Data, messageFile: String) async throws

    /// Renews this node's hold on its messages, takes over those of nodes that stopped renewing theirs, writes the
    /// messages this node holds but `spool` lacks into `spool` (``SpoolIntake/restore(_:envelope:content:)``), and
    /// returns the entries of `local` that another node holds now (the caller drops its copies).
    func synchronize(_ spool: SpoolIntake, local: [QueueID]) async throws -> Set<QueueID>

    /// Message `queueID` was processed (or left the spool for the quarantine): no node needs it any more.
    func release(_ queueID: QueueID) async throws

    /// Renews this node's hold on its messages; called every ``renewInterval`` while the runner runs.
    func renew() async throws

    /// How often ``renew()`` must run for the hold not to run out.
    var renewInterval: Duration { get }
}
