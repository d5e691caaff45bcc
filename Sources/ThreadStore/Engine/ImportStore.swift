// Security: the inbound import, the one write that carries a client's words into the store. Every implementation
// stores only what ThreadStore stores on SQLite: the message sealed with its thread's data key (bound to thread,
// message and column), the data key wrapped under the master key, keyed HMACs of the Message-ID, the content, the
// client key and address, and replay fingerprints. Nothing here is logged; `description` shows no content.

public import Foundation

/// The engine-neutral seam for importing inbound mail (docs/postgresql.md, "The engine-neutral seam").
///
/// Each method is one whole transaction on its engine. ``importMessage(_:into:queueing:)`` is
/// ``WriteTransaction/importMessage(_:into:)`` with what the pipeline queues in the same transaction, and it is
/// atomic against every other import of the same database, on this node or another: the same message imported
/// twice at once is stored once (the other import gets ``ImportOutcome/duplicate(_:_:)``), a replay fingerprint
/// raced from two imports lets exactly one through, and two first messages of a new client end in one thread.
/// `ThreadStoreImport` implements it over a ``ThreadStore`` (SQLite, one writer); `PostgresThreads`
/// (StorePostgres) on PostgreSQL, in `SERIALIZABLE` transactions run again on serialization failures.
///
/// ```swift
/// let threads: any ImportStore = ThreadStoreImport(store)        // or: try await PostgresThreads.open(…)
/// let outcome = try await threads.importMessage(message, into: .client(identity), queueing: [receipt])
/// if case .stored(let thread, _, _) = outcome { let content = try await threads.threadContent(thread) }
/// ```
public protocol ImportStore: Sendable {
    /// Stores a decrypted message as ``WriteTransaction/importMessage(_:into:)`` does (validation and limits,
    /// duplicate by Message-ID and content, replay fingerprints with the provisional rule, a new thread with a
    /// fresh data key, reopening a closed thread, the audit entries) and, only when it is stored, queues `outbox`
    /// in the same transaction: each item bound to the message's thread (its ``NewOutboxItem/thread`` is set to it)
    /// and sealed with the thread's data key, audited ``AuditEvent/outboxQueued``. A duplicate or a replay queues
    /// nothing.
    /// - Throws: ``ThreadStoreError/limitExceeded`` (message or outbox payload too large);
    ///   ``ThreadStoreError/invalidValue`` (empty Message-ID); ``ThreadStoreError/threadNotFound``.
    func importMessage(_ message: NewMessage, into destination: ImportDestination, queueing outbox: [NewOutboxItem])
        async throws -> ImportOutcome
    /// One thread opened: its client, state and every message (oldest first), and how many of its outbox items
    /// are queued.
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/unsealingFailed`` if a value was altered.
    func threadContent(_ id: ThreadID) async throws -> ThreadContent
    /// Whether a message with this meaning (``ReplayFingerprint``) was imported before, in any thread.
    func replaySeenBefore(_ fingerprint: ReplayFingerprint) async throws -> Bool
    /// The keyed fingerprint of a decrypted payload (as ``ThreadStore/replayFingerprint(_:_:)``).
    func replayFingerprint(_ kind: ReplayFingerprint.Kind, _ material: [UInt8]) -> ReplayFingerprint
}

extension ImportStore {
    /// Imports without queueing anything.
    public func importMessage(_ message: NewMessage, into destination: ImportDestination) async throws
        -> ImportOutcome
    {
        try await importMessage(message, into: destination, queueing: [])
    }
}

/// A thread as an import left it, opened: what proves that a message round-trips through an engine.
public struct ThreadContent: Sendable, CustomStringConvertible {
    /// The thread's ID.
    public var id: ThreadID
    /// The counselling field.
    public var field: CounsellingField
    /// The state (an inbound message reopens a closed thread).
    public var state: ThreadState
    /// Whether the thread still awaits its client's key (issue 17).
    public var isAwaitingKey: Bool
    /// The client's key fingerprint; nil for a thread without key.
    public var clientKey: ClientKeyFingerprint?
    /// The client's address.
    public var clientAddress: ClientAddress
    /// All messages, oldest first, opened.
    public var messages: [StoredMessage]
    /// Outbox items of the thread still queued.
    public var queuedOutboxItems: Int

    /// A thread's content as an engine opened it.
    public init(id: ThreadID, field: CounsellingField, state: ThreadState, isAwaitingKey: Bool,
                clientKey: ClientKeyFingerprint?, clientAddress: ClientAddress, messages: [StoredMessage],
                queuedOutboxItems: Int) {
        self.id = id
        self.field = field
        self.state = state
        self.isAwaitingKey = isAwaitingKey
        self.clientKey = clientKey
        self.clientAddress = clientAddress
        self.messages = messages
        self.queuedOutboxItems = queuedOutboxItems
    }

    public var description: String { "ThreadContent(\(id), messages: \(messages.count))" }
}
