public import Foundation
import GRDB

/// Read access inside ``ThreadStore/read(_:)``: a consistent snapshot. Valid only inside the closure.
///
/// ```swift
/// let (page, thread) = try await store.read { tx in
///     (try tx.listThreads(field: field, state: .open), try tx.openThread(id))
/// }
/// ```
public struct ReadTransaction {
    let db: Database
    let context: TransactionContext

    /// A page of threads of a field (optionally only one state), most recent activity first, with message and
    /// unread counts. Decrypts nothing. Pass the last summary of a page as `before` to get the next page.
    public func listThreads(
        field: CounsellingField,
        state: ThreadState? = nil,
        limit: Int = 50,
        before: ThreadSummary? = nil
    ) throws -> [ThreadSummary] {
        try Queries.listThreads(db, context: context, field: field, state: state, limit: limit, before: before)
    }

    /// The summary of one thread, or `nil` if no such thread exists. Decrypts nothing.
    public func thread(_ id: ThreadID) throws -> ThreadSummary? {
        try Queries.threadSummary(db, id: id)
    }

    /// The client's newest thread in the identity's field that is not closed, or `nil` (a client who writes after
    /// the thread was closed starts a new one, unless the mail answers a message of the closed thread: see
    /// ``threadAnswered(by:client:)``). Looks up by keyed HMAC; decrypts nothing.
    public func findThread(client: ClientIdentity) throws -> ThreadID? {
        try Queries.findThread(db, context: context, client: client)
    }

    /// The thread of `client` (same field and key) that contains an outbound message whose Message-ID is one of
    /// `messageIDs` (from a reply's In-Reply-To and References), or nil. At most 32 IDs are looked at.
    public func threadAnswered(by messageIDs: [String], client: ClientIdentity) throws -> ThreadID? {
        try Queries.threadAnswered(db, context: context, messageIDs: messageIDs, client: client)
    }

    /// Decrypts one thread: client identity, messages and attachments. Other threads stay sealed.
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/unsealingFailed`` if a value was altered.
    public func openThread(_ id: ThreadID) throws -> OpenedThread {
        try Queries.openThread(db, context: context, id: id)
    }

    /// Whether a message with this meaning (see ``ReplayFingerprint``) was imported before, in any thread.
    public func replaySeenBefore(_ fingerprint: ReplayFingerprint) throws -> Bool {
        try Queries.replaySeenBefore(db, fingerprint)
    }

    /// Pending outbox items whose next attempt is due, oldest first, decrypted for sending.
    public func dueOutboxItems(now: Date, limit: Int = 50) throws -> [OutboxItem] {
        try Queries.dueOutboxItems(db, context: context, now: now, limit: limit)
    }

    /// ``dueOutboxItems(now:limit:)``, and the IDs of due items that wait for their organisation's key (issue 29),
    /// for ``WriteTransaction/postponeOutboxItems(_:until:)``.
    public func dueOutboxItemsAndWaiting(now: Date, limit: Int = 50) throws
        -> (items: [OutboxItem], waiting: [OutboxItemID])
    {
        var waiting: [OutboxItemID] = []
        let items = try Queries.dueOutboxItems(db, context: context, now: now, limit: limit, waiting: &waiting)
        return (items, waiting)
    }

    /// The earliest next-attempt time of all pending outbox items, or `nil` if none is pending. Decrypts nothing
    /// (for the outbound queue's timer).
    public func nextOutboxAttemptDate() throws -> Date? {
        try Queries.nextOutboxAttemptDate(db, context: context)
    }

    /// Audit entries after `sequence` (0 for the first), in order.
    public func auditEntries(after sequence: Int64 = 0, limit: Int = 500) throws -> [AuditEntry] {
        try Queries.auditEntries(db, after: sequence, limit: limit)
    }

    /// The newest `limit` (at most 10 000) audit entries matching `filter`, oldest first.
    public func latestAuditEntries(_ filter: AuditFilter, limit: Int) throws -> [AuditEntry] {
        try Queries.latestAuditEntries(db, filter, limit: min(max(limit, 0), 10_000))
    }
}

@available(*, unavailable)
extension ReadTransaction: Sendable {}
