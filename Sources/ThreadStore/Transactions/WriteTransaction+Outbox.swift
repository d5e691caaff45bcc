public import Foundation
import Crypto
import GRDB

extension WriteTransaction {
    /// Queues an outbound mail. Recipient and payload are sealed: with the thread's data key when the item
    /// belongs to a thread (it is then deleted with the thread), else with a key derived from the master key.
    @discardableResult
    public func enqueueOutbox(_ item: NewOutboxItem) throws -> OutboxItemID {
        guard item.payload.count <= context.configuration.maximumOutboxPayloadBytes else {
            throw ThreadStoreError.limitExceeded
        }
        let key =
            if let thread = item.thread { try Queries.dataKey(db, context: context, thread: thread) } else {
                context.keys.outbox
            }
        let id = OutboxItemID.random()
        let record = OutboxRecord(
            id: id,
            threadID: item.thread,
            kind: item.kind,
            state: .pending,
            attempts: 0,
            nextAttemptAt: item.notBefore.storeMilliseconds,
            createdAt: now.storeMilliseconds,
            payloadSize: item.payload.count,
            recipientSealed: try Sealing.sealString(
                item.recipient.unredactedDescription,
                key: key,
                context: OutboxRecord.context("recipient_sealed", thread: item.thread, item: id)
            ),
            payloadSealed: try Sealing.seal(
                item.payload,
                key: key,
                context: OutboxRecord.context("payload_sealed", thread: item.thread, item: id)
            )
        )
        try record.insert(db)
        try AuditLog.append(
            db,
            at: now,
            event: .outboxQueued,
            thread: item.thread,
            itemID: id.unredactedDescription,
            count: item.kind.rawValue
        )
        return id
    }

    /// See ``ReadTransaction/dueOutboxItems(now:limit:)``.
    public func dueOutboxItems(now: Date, limit: Int = 50) throws -> [OutboxItem] {
        try reader.dueOutboxItems(now: now, limit: limit)
    }

    /// The item was delivered: deletes it (its sealed payload is overwritten, `secure_delete`).
    public func markOutboxDelivered(_ id: OutboxItemID) throws {
        let thread = try outboxThread(id)
        try db.cachedStatement(sql: "DELETE FROM outbox WHERE id = ?").execute(arguments: [id.raw.text])
        try AuditLog.append(db, at: now, event: .outboxDelivered, thread: thread, itemID: id.unredactedDescription)
    }

    /// Marks the row with ID `text` delivered if it is still in the outbox (a delivery journal replayed after a
    /// crash). Returns whether it was; text that is not an outbox ID is ignored.
    public func markOutboxDeliveredIfPresent(_ text: String) throws -> Bool {
        guard let id = try? OutboxItemID(text) else { return false }
        do {
            try markOutboxDelivered(id)
            return true
        } catch let error as ThreadStoreError where error == .outboxItemNotFound {
            return false
        }
    }

    /// A temporary failure: counts the attempt and schedules the next one.
    public func scheduleOutboxRetry(_ id: OutboxItemID, at next: Date) throws {
        try db.cachedStatement(
            sql: "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ? AND state = ?"
        ).execute(
            arguments: [next.storeMilliseconds, id.raw.text, OutboxState.pending.rawValue]
        )
        if db.changesCount == 0 { throw ThreadStoreError.outboxItemNotFound }
    }

    /// Items waiting for their organisation's key (issue 29): looked at again at `date`, no attempt counted.
    public func postponeOutboxItems(_ ids: [OutboxItemID], until date: Date) throws {
        for id in ids {
            try db.cachedStatement(sql: "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND state = ?")
                .execute(arguments: [date.storeMilliseconds, id.raw.text, OutboxState.pending.rawValue])
        }
    }

    /// A permanent failure: counts the attempt and stops retrying.
    public func markOutboxFailed(_ id: OutboxItemID) throws {
        let thread = try outboxThread(id)
        try db.cachedStatement(sql: "UPDATE outbox SET attempts = attempts + 1, state = ? WHERE id = ?").execute(
            arguments: [OutboxState.failed.rawValue, id.raw.text]
        )
        try AuditLog.append(db, at: now, event: .outboxFailed, thread: thread, itemID: id.unredactedDescription)
    }

    private func outboxThread(_ id: OutboxItemID) throws -> ThreadID? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT thread_id FROM outbox WHERE id = ?"),
                arguments: [id.raw.text]
            )
        else { throw ThreadStoreError.outboxItemNotFound }
        guard let text = row["thread_id"] as String? else { return nil }
        return try ThreadID(text)
    }
}

enum Outbox {
    static func decrypt(_ record: OutboxRecord, key: SymmetricKey) throws -> OutboxItem {
        try open(
            SealedOutboxRow(
                id: record.id, thread: record.threadID, kind: record.kind, attempts: record.attempts,
                nextAttemptAt: record.nextAttemptAt, createdAt: record.createdAt,
                recipientSealed: record.recipientSealed, payloadSealed: record.payloadSealed),
            state: record.state, key: key)
    }

    /// Opens a row's recipient and payload with `key` (its thread's data key, or the outbox key), in the sealing
    /// contexts that bind them to the row's item and thread; on every engine.
    static func open(_ row: SealedOutboxRow, state: OutboxState, key: SymmetricKey) throws -> OutboxItem {
        let recipient = try Sealing.openString(
            row.recipientSealed,
            key: key,
            context: OutboxRecord.context("recipient_sealed", thread: row.thread, item: row.id)
        )
        let payload = try Sealing.open(
            row.payloadSealed,
            key: key,
            context: OutboxRecord.context("payload_sealed", thread: row.thread, item: row.id)
        )
        return OutboxItem(
            id: row.id,
            thread: row.thread,
            kind: row.kind,
            state: state,
            attempts: row.attempts,
            nextAttemptAt: Date(storeMilliseconds: row.nextAttemptAt),
            queuedAt: Date(storeMilliseconds: row.createdAt),
            recipient: try ClientAddress(recipient),
            payload: Array(payload)
        )
    }
}
