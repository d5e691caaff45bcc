import Foundation
import GRDB

/// One `outbox` row, as stored.
struct OutboxRecord {
    var id: OutboxItemID
    var threadID: ThreadID?
    var kind: OutboxKind
    var state: OutboxState
    var attempts: Int
    var nextAttemptAt: Int64
    var createdAt: Int64
    var payloadSize: Int
    var recipientSealed: Data
    var payloadSealed: Data

    static let columns = """
        id, thread_id, kind, state, attempts, next_attempt_at, created_at, payload_size, recipient_sealed, \
        payload_sealed
        """

    init(
        id: OutboxItemID,
        threadID: ThreadID?,
        kind: OutboxKind,
        state: OutboxState,
        attempts: Int,
        nextAttemptAt: Int64,
        createdAt: Int64,
        payloadSize: Int,
        recipientSealed: Data,
        payloadSealed: Data
    ) {
        self.id = id
        self.threadID = threadID
        self.kind = kind
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.payloadSize = payloadSize
        self.recipientSealed = recipientSealed
        self.payloadSealed = payloadSealed
    }

    init(row: Row) throws(ThreadStoreError) {
        guard let id = try? OutboxItemID(row["id"] as String), let kind = OutboxKind(rawValue: row["kind"]),
            let state = OutboxState(rawValue: row["state"])
        else { throw .databaseCorrupt }
        var threadID: ThreadID?
        if let text = row["thread_id"] as String? {
            guard let parsed = try? ThreadID(text) else { throw .databaseCorrupt }
            threadID = parsed
        }
        self.id = id
        self.threadID = threadID
        self.kind = kind
        self.state = state
        attempts = row["attempts"]
        nextAttemptAt = row["next_attempt_at"]
        createdAt = row["created_at"]
        payloadSize = row["payload_size"]
        recipientSealed = row["recipient_sealed"]
        payloadSealed = row["payload_sealed"]
    }

    func insert(_ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO outbox (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(
                arguments: [
                    id.unredactedDescription, threadID?.unredactedDescription, kind.rawValue, state.rawValue, attempts,
                    nextAttemptAt, createdAt, payloadSize, recipientSealed, payloadSealed,
                ]
            )
    }

    static func context(_ column: String, thread: ThreadID?, item: OutboxItemID) -> SealContext {
        SealContext(
            table: "outbox",
            column: column,
            threadID: thread?.unredactedDescription ?? "",
            rowID: item.unredactedDescription
        )
    }
}

/// Audit log writes. Append-only (see the triggers in Schema/Migrations.swift).
enum AuditLog {
    static func append(
        _ db: Database,
        at: Date,
        event: AuditEvent,
        thread: ThreadID? = nil,
        itemID: String? = nil,
        count: Int? = nil,
        actor: AccountID? = nil,
        channel: AuditChannel? = nil
    ) throws {
        var tokenID: String?
        if case .apiToken(let id) = channel { tokenID = id.unredactedDescription }
        try db.cachedStatement(
            sql: """
                INSERT INTO audit (at, event, thread_id, item_id, count, actor_id, channel, token_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            at.storeMilliseconds, event.rawValue, thread?.unredactedDescription, itemID, count,
            actor?.unredactedDescription, channel?.code, tokenID,
        ])
    }
}
