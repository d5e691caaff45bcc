// Security: the webhook outbox on any engine. Its rows are written by the store's own trigger on `audit` and hold
// event codes, opaque random IDs and times only; nothing here reads or returns content, addresses or key material.
// Leases keep two senders (two nodes, or a restarted process and a stale attempt) from settling the same attempt.

public import Foundation
import GRDB

/// The durable outbox of webhook events (issue 29): ``ThreadStoreWebhookEvents`` on SQLite, `PostgresWebhookEvents`
/// (StorePostgres) on PostgreSQL. Events are recorded by the store itself, in the transaction of the audited change
/// they report (WebhookSchema), while a subscription is set; this seam sends nothing, it hands events to a sender
/// and records how each attempt went.
///
/// ```swift
/// try await events.setWebhookSubscription(true, now: now)
/// for event in try await events.leaseDueWebhookEvents(owner: "node-a", now: now, lease: 60, limit: 20) {
///     let outcome = await send(event)
///     _ = try await events.settleWebhookAttempt(event.id, owner: "node-a", outcome: outcome, now: .now)
/// }
/// ```
public protocol WebhookEventStore: Sendable {
    /// Starts (true) or stops (false) recording events. Stopping keeps the recorded ones.
    func setWebhookSubscription(_ active: Bool, now: Date) async throws
    /// Leases up to `limit` pending events due at `now` (oldest first) whose lease is free or ran out, to `owner`
    /// until `now + lease`, and counts the attempt. Atomic against every other caller.
    func leaseDueWebhookEvents(owner: String, now: Date, lease: TimeInterval, limit: Int) async throws
        -> [WebhookEvent]
    /// Records the outcome of an attempt on an event `owner` leased, and frees the lease. False (nothing written)
    /// when the lease is no longer `owner`'s (it ran out and another sender took the event).
    func settleWebhookAttempt(_ id: WebhookEventID, owner: String, outcome: WebhookAttemptOutcome, now: Date)
        async throws -> Bool
    /// Events, newest first, at most `limit`; only those in `state` if given.
    func webhookEvents(state: WebhookDeliveryState?, limit: Int) async throws -> [WebhookEvent]
    /// How many events are in each state.
    func webhookEventCounts() async throws -> [WebhookDeliveryState: Int]
    /// Puts a failed event back: pending, due at `now`, attempts counted from 0 again. False when there is no failed
    /// event with that ID.
    func retryWebhookEvent(_ id: WebhookEventID, now: Date) async throws -> Bool
    /// Deletes delivered and failed events that finished before `cutoff`, and pending ones whose next attempt was
    /// due before it (no sender took them since). Returns how many.
    func pruneWebhookEvents(before cutoff: Date) async throws -> Int
}

/// ``WebhookEventStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreWebhookEvents: WebhookEventStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    static let columns = """
        id, type, thread_id, message_id, occurred_at, state, attempts, next_attempt_at, last_status, finished_at,
        (SELECT t.field FROM thread t WHERE t.id = webhook_event.thread_id) AS field
        """
    /// A pending event due at `:now` whose lease is free or ran out: the read that skips an idle poll's write
    /// transaction and the lease itself select the same rows.
    static let due = "state = 0 AND next_attempt_at <= :now AND (lease_until IS NULL OR lease_until <= :now)"

    public func setWebhookSubscription(_ active: Bool, now: Date) async throws {
        try await store.write { tx in
            if active {
                try tx.db.execute(sql: "INSERT OR IGNORE INTO webhook_subscription (id, since) VALUES (1, ?)",
                                  arguments: [now.storeMilliseconds])
            } else {
                try tx.db.execute(sql: "DELETE FROM webhook_subscription")
            }
        }
    }

    public func leaseDueWebhookEvents(owner: String, now: Date, lease: TimeInterval, limit: Int) async throws
        -> [WebhookEvent]
    {
        let (nowMS, until) = (now.storeMilliseconds, now.addingTimeInterval(lease).storeMilliseconds)
        // Read first: an idle gateway polls every second, and a write transaction (and its fsync) for nothing is not
        // free. The write reads again; only one process writes this file.
        let anyDue = try await store.read { tx in
            try Bool.fetchOne(tx.db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM webhook_event INDEXED BY webhook_event_due WHERE \(Self.due))
                """), arguments: ["now": nowMS]) ?? false
        }
        guard anyDue else { return [] }
        return try await store.write { tx in
            let due = try Row.fetchAll(
                tx.db.cachedStatement(sql: """
                    SELECT \(Self.columns) FROM webhook_event INDEXED BY webhook_event_due WHERE \(Self.due)
                    ORDER BY next_attempt_at, occurred_at, type LIMIT :limit
                    """),
                arguments: ["now": nowMS, "limit": max(1, min(limit, 500))])
            var leased: [WebhookEvent] = []
            for row in due {
                var event = try Self.event(from: row)
                try tx.db.cachedStatement(sql: """
                    UPDATE webhook_event SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?
                    """).execute(arguments: [owner, until, event.id.unredactedDescription])
                event.attempts += 1
                leased.append(event)
            }
            return leased
        }
    }

    public func settleWebhookAttempt(_ id: WebhookEventID, owner: String, outcome: WebhookAttemptOutcome, now: Date)
        async throws -> Bool
    {
        let settled = WebhookSettlement(outcome, now: now)
        return try await store.write { tx in
            try tx.db.cachedStatement(sql: """
                UPDATE webhook_event SET state = ?, last_status = ?, next_attempt_at = coalesce(?, next_attempt_at),
                    finished_at = ?, lease_owner = NULL, lease_until = NULL
                WHERE id = ? AND state = 0 AND lease_owner = ?
                """).execute(arguments: [settled.state.rawValue, settled.status, settled.nextAttempt,
                                         settled.finishedAt, id.unredactedDescription, owner])
            return tx.db.changesCount == 1
        }
    }

    public func webhookEvents(state: WebhookDeliveryState?, limit: Int) async throws -> [WebhookEvent] {
        try await store.read { tx in
            try Row.fetchAll(
                tx.db.cachedStatement(sql: """
                    SELECT \(Self.columns) FROM webhook_event WHERE (?1 IS NULL OR state = ?1)
                    ORDER BY occurred_at DESC, type DESC, id LIMIT ?2
                    """),
                arguments: [state?.rawValue, max(1, min(limit, 10_000))]
            ).map(Self.event(from:))
        }
    }

    public func webhookEventCounts() async throws -> [WebhookDeliveryState: Int] {
        try await store.read { tx in
            var counts: [WebhookDeliveryState: Int] = [:]
            for row in try Row.fetchAll(tx.db, sql: "SELECT state, count(*) FROM webhook_event GROUP BY state") {
                guard let state = WebhookDeliveryState(rawValue: row[0]) else { throw ThreadStoreError.databaseCorrupt }
                counts[state] = row[1]
            }
            return counts
        }
    }

    public func retryWebhookEvent(_ id: WebhookEventID, now: Date) async throws -> Bool {
        try await store.write { tx in
            try tx.db.execute(sql: """
                UPDATE webhook_event SET state = 0, attempts = 0, next_attempt_at = ?, finished_at = NULL,
                    lease_owner = NULL, lease_until = NULL
                WHERE id = ? AND state = 2
                """, arguments: [now.storeMilliseconds, id.unredactedDescription])
            return tx.db.changesCount == 1
        }
    }

    public func pruneWebhookEvents(before cutoff: Date) async throws -> Int {
        try await store.write { tx in
            try tx.db.execute(sql: """
                DELETE FROM webhook_event WHERE (state <> 0 AND finished_at < ?1) OR (state = 0 AND next_attempt_at < ?1)
                """, arguments: [cutoff.storeMilliseconds])
            return tx.db.changesCount
        }
    }

    static func event(from row: Row) throws -> WebhookEvent {
        try WebhookEvent.stored(
            id: row["id"], type: row["type"], thread: row["thread_id"], message: row["message_id"],
            occurredAt: row["occurred_at"], state: row["state"], attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"], lastStatus: row["last_status"], finishedAt: row["finished_at"],
            field: row["field"])
    }
}

/// What an attempt's outcome writes (both engines).
public struct WebhookSettlement: Sendable {
    public var state: WebhookDeliveryState
    public var status: Int
    /// The next attempt (store milliseconds), nil to keep the column.
    public var nextAttempt: Int64?
    /// When it finished (store milliseconds), nil while pending.
    public var finishedAt: Int64?

    public init(_ outcome: WebhookAttemptOutcome, now: Date) {
        switch outcome {
        case .delivered(let status):
            (state, self.status, nextAttempt, finishedAt) = (.delivered, status, nil, now.storeMilliseconds)
        case .failed(let status, let retryAt?):
            (state, self.status, nextAttempt, finishedAt) = (.pending, status, retryAt.storeMilliseconds, nil)
        case .failed(let status, nil):
            (state, self.status, nextAttempt, finishedAt) = (.failed, status, nil, now.storeMilliseconds)
        }
    }
}

extension WebhookEvent {
    /// An event from its stored columns (both engines).
    /// - Throws: ``ThreadStoreError/databaseCorrupt`` for an unknown code or a malformed ID.
    public static func stored(id: String, type: Int, thread: String?, message: String?, occurredAt: Int64,
                              state: Int, attempts: Int, nextAttemptAt: Int64, lastStatus: Int?,
                              finishedAt: Int64?, field: String? = nil) throws -> WebhookEvent {
        guard let type = WebhookEventType(rawValue: type), let state = WebhookDeliveryState(rawValue: state),
            let id = try? WebhookEventID(id)
        else { throw ThreadStoreError.databaseCorrupt }
        do {
            var event = WebhookEvent(
                id: id, type: type, thread: try thread.map { try ThreadID($0) },
                message: try message.map { try StoredMessageID($0) }, occurredAt: Date(storeMilliseconds: occurredAt),
                state: state, attempts: attempts, nextAttemptAt: Date(storeMilliseconds: nextAttemptAt),
                lastStatus: lastStatus, finishedAt: finishedAt.map { Date(storeMilliseconds: $0) })
            event.field = try field.map { try CounsellingField($0) }
            return event
        } catch {
            throw ThreadStoreError.databaseCorrupt
        }
    }
}
