public import Foundation
import GRDB

/// One outbox row as the admin's `queue list` shows it: metadata only, nothing decrypted.
public struct OutboxEntry: Sendable, Hashable, CustomStringConvertible {
    public var id: OutboxItemID
    public var kind: OutboxKind
    public var state: OutboxState
    public var attempts: Int
    public var nextAttemptAt: Date
    public var queuedAt: Date
    /// Size of the sealed-away message, in octets.
    public var payloadSize: Int

    public var description: String { "OutboxEntry(\(id), \(kind), \(state), attempts: \(attempts))" }

    public init(id: OutboxItemID, kind: OutboxKind, state: OutboxState, attempts: Int, nextAttemptAt: Date,
                queuedAt: Date, payloadSize: Int) {
        self.id = id
        self.kind = kind
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.queuedAt = queuedAt
        self.payloadSize = payloadSize
    }
}

extension ReadTransaction {
    /// Every outbox row (pending and failed), oldest next attempt first, at most `limit`. Decrypts nothing:
    /// recipients and payloads stay sealed.
    public func outboxOverview(limit: Int = 500) throws -> [OutboxEntry] {
        guard limit > 0, limit <= context.configuration.maximumPageSize else { throw ThreadStoreError.limitExceeded }
        return try Row.fetchAll(
            db.cachedStatement(sql: "SELECT \(OutboxRecord.columns) FROM outbox ORDER BY next_attempt_at, id LIMIT ?"),
            arguments: [limit]
        ).map { row in
            let record = try OutboxRecord(row: row)
            return OutboxEntry(id: record.id, kind: record.kind, state: record.state, attempts: record.attempts,
                               nextAttemptAt: Date(storeMilliseconds: record.nextAttemptAt),
                               queuedAt: Date(storeMilliseconds: record.createdAt), payloadSize: record.payloadSize)
        }
    }
}
