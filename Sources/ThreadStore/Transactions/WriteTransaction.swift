public import Foundation
import GRDB

/// Write access inside ``ThreadStore/write(_:)``: one transaction that commits when the closure returns and
/// rolls back when it throws. Valid only inside the closure. Offers the reads of ``ReadTransaction`` too.
public struct WriteTransaction {
    let db: Database
    let context: TransactionContext

    var now: Date { context.configuration.clock() }

    /// Reads inside this transaction (they see its own writes).
    public var reader: ReadTransaction { ReadTransaction(db: db, context: context) }

    /// See ``ReadTransaction/openThread(_:)``.
    public func openThread(_ id: ThreadID) throws -> OpenedThread { try reader.openThread(id) }
    /// See ``ReadTransaction/thread(_:)``.
    public func thread(_ id: ThreadID) throws -> ThreadSummary? { try reader.thread(id) }
    /// See ``ReadTransaction/findThread(client:)``.
    public func findThread(client: ClientIdentity) throws -> ThreadID? { try reader.findThread(client: client) }
    /// See ``ReadTransaction/threadAnswered(by:client:)``.
    public func threadAnswered(by messageIDs: [String], client: ClientIdentity) throws -> ThreadID? {
        try reader.threadAnswered(by: messageIDs, client: client)
    }
    /// See ``ReadTransaction/replaySeenBefore(_:)``.
    public func replaySeenBefore(_ fingerprint: ReplayFingerprint) throws -> Bool {
        try reader.replaySeenBefore(fingerprint)
    }

    /// Marks every inbound message of a thread read.
    /// - Returns: how many messages changed.
    @discardableResult
    public func markRead(thread: ThreadID) throws -> Int {
        try requireThread(thread)
        try db.cachedStatement(sql: "UPDATE message SET is_read = 1 WHERE thread_id = ? AND is_read = 0").execute(
            arguments: [thread.raw.text]
        )
        return db.changesCount
    }

    /// Marks one message read.
    public func markRead(message: StoredMessageID) throws {
        try db.cachedStatement(sql: "UPDATE message SET is_read = 1 WHERE id = ?").execute(arguments: [message.raw.text]
        )
        if db.changesCount == 0 { throw ThreadStoreError.messageNotFound }
    }

    /// Sets a thread's state and audits the change (with `actor`, the counsellor who did it, if any).
    public func setState(_ state: ThreadState, of thread: ThreadID, actor: AccountID? = nil) throws {
        try db.cachedStatement(sql: "UPDATE thread SET state = ? WHERE id = ?").execute(arguments: [
            state.rawValue, thread.raw.text,
        ])
        if db.changesCount == 0 { throw ThreadStoreError.threadNotFound }
        try AuditLog.append(db, at: now, event: .threadStateChanged, thread: thread, count: state.rawValue,
                            actor: actor, channel: context.auditChannel)
    }

    /// Atomically decides whether a redirect reply may go to a sender and, if so, records it: returns `true` and
    /// stores `now` when no reply went to this sender within `period`, else `false` and changes nothing.
    public func shouldSendRedirect(to sender: SenderHMAC, now: Date, period: TimeInterval) throws -> Bool {
        try RateLimit.shouldSend(db, sender: sender, now: now, period: period)
    }

    func requireThread(_ thread: ThreadID) throws {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM thread WHERE id = ?)"),
                arguments: [thread.raw.text]
            )
                == true
        else { throw ThreadStoreError.threadNotFound }
    }
}

@available(*, unavailable)
extension WriteTransaction: Sendable {}
