// Security: opens outbox rows that another store engine kept (issue 21), with ThreadStore's own code: the same
// keys (the thread's data key, or the outbox key derived from the master key) and the same sealing contexts, so a
// row moved to another item or thread does not open.

import Crypto
public import Foundation

/// An outbox row as an engine stored it: IDs, codes, times and the sealed values.
public struct SealedOutboxRow: Sendable, CustomStringConvertible {
    public var id: OutboxItemID
    public var thread: ThreadID?
    public var kind: OutboxKind
    public var attempts: Int
    /// Store milliseconds.
    public var nextAttemptAt: Int64
    /// Store milliseconds.
    public var createdAt: Int64
    public var recipientSealed: Data
    public var payloadSealed: Data

    public init(id: OutboxItemID, thread: ThreadID?, kind: OutboxKind, attempts: Int, nextAttemptAt: Int64,
                createdAt: Int64, recipientSealed: Data, payloadSealed: Data) {
        self.id = id
        self.thread = thread
        self.kind = kind
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.recipientSealed = recipientSealed
        self.payloadSealed = payloadSealed
    }

    public var description: String { "SealedOutboxRow(\(id), \(kind), attempts: \(attempts), <sealed>)" }
}

extension StoreSecrets {
    /// Opens a pending outbox row: with `dataKey` (which must be the row's thread's) when the row belongs to a
    /// thread, else with the outbox key.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when a value was altered, moved, or the key is another
    ///   thread's; ``ThreadStoreError/invalidValue`` for a thread row opened without its key.
    public func openOutboxRow(_ row: SealedOutboxRow, with dataKey: ThreadDataKey?) throws -> OutboxItem {
        let key: SymmetricKey
        switch (row.thread, dataKey) {
        case (nil, _): key = keys.outbox
        case (let thread?, let dataKey?) where dataKey.thread == thread: key = dataKey.key
        case (_?, _?): throw ThreadStoreError.unsealingFailed
        case (_?, nil): throw ThreadStoreError.invalidValue
        }
        return try Outbox.open(row, state: .pending, key: key)
    }
}
