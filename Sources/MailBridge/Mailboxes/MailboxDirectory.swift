import NIOConcurrencyHelpers
public import ThreadStore

/// The counselling mailboxes in force, shared by everything that reads them: the pipeline, the reply composer and
/// the outbox. A configuration reload (SIGHUP) replaces them here once, and every reader sees the new texts,
/// links and team addresses from its next read on.
///
/// Each read returns a consistent snapshot; a message or reply being handled during a reload keeps the snapshot
/// it started with.
///
/// ```swift
/// let directory = MailboxDirectory(mailboxes)
/// let composer = ReplyComposer(store: store, pgp: pgp, mailboxes: directory, logger: logger)
/// directory.replace(reloaded)          // the composer's next reply uses the new reply-waiting text
/// ```
public final class MailboxDirectory: Sendable {
    private let current: NIOLockedValueBox<[PipelineMailbox]>

    public init(_ mailboxes: [PipelineMailbox]) {
        current = NIOLockedValueBox(mailboxes)
    }

    /// All mailboxes, in configuration order.
    public var all: [PipelineMailbox] { current.withLockedValue { $0 } }

    /// The mailbox that serves `field`, if any.
    public func mailbox(forField field: CounsellingField) -> PipelineMailbox? {
        current.withLockedValue { mailboxes in mailboxes.first { $0.field == field } }
    }

    /// Replaces every mailbox at once (a configuration reload).
    public func replace(_ mailboxes: [PipelineMailbox]) {
        current.withLockedValue { $0 = mailboxes }
    }
}
