// Security: the transactions of the outbound funnel's counsellor replies, on any engine. A reply's text arrives as
// the stored inner part (protected headers and text) and leaves the store only sealed in its thread, or in an
// outbox item that the caller encrypted to the client's key. A reply that could not be encrypted is held, sealed;
// only the fixed reply-waiting notice is queued for it. Audit rows carry IDs and codes, never text.

public import Foundation

/// One counsellor reply as the composer commits it: the stored outbound message and the outbox item that goes
/// with it (the encrypted reply, or, when the client's key was unusable, the reply-waiting notice).
public struct ReplyCommit: Sendable, CustomStringConvertible {
    /// The reply as stored in the thread (outbound, its inner MIME part as body).
    public var message: NewMessage
    /// The encrypted reply, or the reply-waiting notice when `keyUnusable` is set.
    public var item: NewOutboxItem
    public var thread: ThreadID
    /// The counsellor's account (web inbox), audited with ``AuditEvent/replyQueued`` and the state change.
    public var actor: AccountID?
    /// How the reply came (browser, API token, command line).
    public var channel: AuditChannel?
    /// Why the key was unusable (``ReplyOutcome``'s stored code; ``AuditEvent/replyKeyUnusable``'s count): the
    /// reply is then held (``HeldReplyProblem`` of the same code). Nil: `item` carries the reply.
    public var keyUnusable: Int?
    /// Whether an unassigned thread becomes the replier's (`assign-on-reply`, issue 22).
    public var assignToActor: Bool

    public init(message: NewMessage, item: NewOutboxItem, thread: ThreadID, actor: AccountID?,
                channel: AuditChannel?, keyUnusable: Int?, assignToActor: Bool) {
        self.message = message
        self.item = item
        self.thread = thread
        self.actor = actor
        self.channel = channel
        self.keyUnusable = keyUnusable
        self.assignToActor = assignToActor
    }

    public var description: String { "ReplyCommit(\(thread), held: \(keyUnusable != nil))" }
}

/// The counsellor reply's transactions, on any engine (issue 21). `ThreadStoreReplies` runs the
/// ``ReadTransaction`` and ``WriteTransaction`` methods the composer ran before (SQLite); `PostgresThreads`
/// (StorePostgres) the same statements on PostgreSQL.
///
/// ```swift
/// let basis = try await replies.replyBasis(thread)                  // identity, newest inbound headers
/// let (row, stored) = try await replies.commitReply(commit)         // one transaction
/// outbox.wakeAfterCommit()
/// ```
public protocol ReplyStore: Sendable {
    /// ``ReadTransaction/replyBasis(_:)``.
    func replyBasis(_ thread: ThreadID) async throws -> ReplyBasis
    /// Stores the reply in its thread and queues its item, in one transaction: the message
    /// (``WriteTransaction/importMessage(_:into:)``), the outbox item, who wrote it (`reply_delivery`; no item
    /// while held), the hold (``AuditEvent/replyKeyUnusable``, ``AuditEvent/replyHeld``), the thread's state
    /// ``ThreadState/awaitingClient``, ``AuditEvent/replyQueued`` when an actor or channel is known, and the
    /// assignment to the actor when asked and the thread has no assignee.
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/limitExceeded``.
    func commitReply(_ commit: ReplyCommit) async throws -> (outbox: OutboxItemID, message: StoredMessageID)
    /// ``ReadTransaction/heldReplies(in:limit:)`` (at most 100, oldest first, decrypted for encryption).
    func heldReplies(in thread: ThreadID) async throws -> [HeldReply]
    /// ``WriteTransaction/releaseHeldReply(_:as:)`` for each pair, in one transaction; returns how many were
    /// still held and are now queued.
    func releaseHeldReplies(_ releases: [(message: StoredMessageID, item: NewOutboxItem)]) async throws -> Int
    /// ``ReadTransaction/heldReplyThreads(sameClientAs:)``.
    func heldReplyThreads(sameClientAs thread: ThreadID) async throws -> [ThreadID]
}

/// ``ReplyStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreReplies: ReplyStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func replyBasis(_ thread: ThreadID) async throws -> ReplyBasis {
        try await store.read { tx in try tx.replyBasis(thread) }
    }

    public func commitReply(_ commit: ReplyCommit) async throws -> (outbox: OutboxItemID, message: StoredMessageID) {
        try await store.write(via: commit.channel) { tx in
            guard case .stored(_, let stored, _) = try tx.importMessage(commit.message, into: .thread(commit.thread))
            else {
                throw ThreadStoreError.invalidValue  // a fresh Message-ID cannot be a duplicate
            }
            let row = try tx.enqueueOutbox(commit.item)
            // Who wrote it, and the item that carries it (none while held: the row queued is the notice).
            try tx.recordReply(stored, author: commit.actor, outbox: commit.keyUnusable == nil ? row : nil)
            if let keyUnusable = commit.keyUnusable {
                try tx.recordReplyKeyUnusable(in: commit.thread, reason: keyUnusable)
                // Kept, sealed, until a usable key for the thread arrives. The key problem's stored code is the
                // held-reply problem's (pinned by `HeldReplyTests`).
                try tx.holdReply(stored, in: commit.thread,
                                 problem: HeldReplyProblem(rawValue: keyUnusable) ?? .unusable)
            }
            // A counsellor answered; waiting for the client.
            try tx.setState(.awaitingClient, of: commit.thread, actor: commit.actor)
            if commit.actor != nil || commit.channel != nil {
                try tx.recordAccess(.replyQueued, actor: commit.actor, thread: commit.thread,
                                    itemID: stored.unredactedDescription)
            }
            if commit.assignToActor, let actor = commit.actor, try tx.reader.inboxThread(commit.thread)?.assignedTo == nil,
                try tx.reader.account(actor).map({ !$0.isDisabled }) == true
            {
                try tx.assign(commit.thread, to: actor, actor: actor)
            }
            return (row, stored)
        }
    }

    public func heldReplies(in thread: ThreadID) async throws -> [HeldReply] {
        try await store.read { tx in try tx.heldReplies(in: thread) }
    }

    public func releaseHeldReplies(_ releases: [(message: StoredMessageID, item: NewOutboxItem)]) async throws -> Int {
        let releasing = releases.map { ($0.message, $0.item) }
        return try await store.write { tx in
            var queued = 0
            for (message, item) in releasing where try tx.releaseHeldReply(message, as: item) { queued += 1 }
            return queued
        }
    }

    public func heldReplyThreads(sameClientAs thread: ThreadID) async throws -> [ThreadID] {
        try await store.read { tx in try tx.heldReplyThreads(sameClientAs: thread) }
    }
}
