// Security: the webhook outbox (issue 29) on PostgreSQL, as ThreadStoreWebhookEvents keeps it on SQLite. Rows hold
// event codes, opaque random IDs and times; the lease (owner, until) lets any node send an event and keeps two
// nodes from settling one attempt. Events themselves are written by the schema's trigger on `audit`.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: WebhookEventStore {
    static let webhookColumns = """
        id, type, thread_id, message_id, occurred_at, state, attempts, next_attempt_at, last_status, finished_at,
        (SELECT t.field FROM thread t WHERE t.id = webhook_event.thread_id)
        """

    public func setWebhookSubscription(_ active: Bool, now: Date) async throws {
        let logger = self.logger
        let since = StoreTime.milliseconds(now)
        try await database.write { connection in
            if active {
                try await connection.query("""
                    INSERT INTO webhook_subscription (id, since) VALUES (1, \(since)) ON CONFLICT (id) DO NOTHING
                    """, logger: logger)
            } else {
                try await connection.query("DELETE FROM webhook_subscription", logger: logger)
            }
        }
    }

    public func leaseDueWebhookEvents(owner: String, now: Date, lease: TimeInterval, limit: Int) async throws
        -> [WebhookEvent]
    {
        let logger = self.logger
        let (nowMS, until) = (StoreTime.milliseconds(now), StoreTime.milliseconds(now.addingTimeInterval(lease)))
        let limit = Int64(max(1, min(limit, 500)))
        return try await database.write { connection in
            // SKIP LOCKED: two nodes leasing at once take different rows instead of waiting for each other.
            let rows = try await connection.query("""
                UPDATE webhook_event SET lease_owner = \(owner), lease_until = \(until), attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM webhook_event
                    WHERE state = 0 AND next_attempt_at <= \(nowMS) AND (lease_until IS NULL OR lease_until <= \(nowMS))
                    ORDER BY next_attempt_at, occurred_at, type LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.webhookColumns)
                """, logger: logger)
            // RETURNING keeps no order: the oldest due first, as on SQLite.
            return try await Self.webhookEvents(rows).sorted {
                ($0.nextAttemptAt, $0.occurredAt, $0.type.rawValue)
                    < ($1.nextAttemptAt, $1.occurredAt, $1.type.rawValue)
            }
        }
    }

    public func settleWebhookAttempt(_ id: WebhookEventID, owner: String, outcome: WebhookAttemptOutcome, now: Date)
        async throws -> Bool
    {
        let logger = self.logger
        let settled = WebhookSettlement(outcome, now: now)
        let (state, status) = (Int16(settled.state.rawValue), Int32(clamping: settled.status))
        let (next, finished) = (settled.nextAttempt, settled.finishedAt)
        return try await database.write { connection in
            try await PostgresAccountRows.changed(connection.query("""
                UPDATE webhook_event SET state = \(state), last_status = \(status),
                    next_attempt_at = coalesce(\(next), next_attempt_at), finished_at = \(finished),
                    lease_owner = NULL, lease_until = NULL
                WHERE id = \(id.unredactedDescription) AND state = 0 AND lease_owner = \(owner)
                RETURNING id
                """, logger: logger)) == 1
        }
    }

    public func webhookEvents(state: WebhookDeliveryState?, limit: Int) async throws -> [WebhookEvent] {
        let logger = self.logger
        let state = state.map { Int16($0.rawValue) }
        let limit = Int64(max(1, min(limit, 10_000)))
        return try await database.read { connection in
            try await Self.webhookEvents(connection.query("""
                SELECT \(unescaped: Self.webhookColumns) FROM webhook_event
                WHERE \(state)::smallint IS NULL OR state = \(state)
                ORDER BY occurred_at DESC, type DESC, id LIMIT \(limit)
                """, logger: logger))
        }
    }

    public func webhookEventCounts() async throws -> [WebhookDeliveryState: Int] {
        let logger = self.logger
        return try await database.read { connection in
            var counts: [WebhookDeliveryState: Int] = [:]
            let rows = try await connection.query(
                "SELECT state, count(*) FROM webhook_event GROUP BY state", logger: logger)
            for try await (state, count) in rows.decode((Int16, Int64).self) {
                guard let state = WebhookDeliveryState(rawValue: Int(state)) else {
                    throw ThreadStoreError.databaseCorrupt
                }
                counts[state] = Int(count)
            }
            return counts
        }
    }

    public func retryWebhookEvent(_ id: WebhookEventID, now: Date) async throws -> Bool {
        let logger = self.logger
        let nowMS = StoreTime.milliseconds(now)
        return try await database.write { connection in
            try await PostgresAccountRows.changed(connection.query("""
                UPDATE webhook_event SET state = 0, attempts = 0, next_attempt_at = \(nowMS), finished_at = NULL,
                    lease_owner = NULL, lease_until = NULL
                WHERE id = \(id.unredactedDescription) AND state = 2 RETURNING id
                """, logger: logger)) == 1
        }
    }

    public func pruneWebhookEvents(before cutoff: Date) async throws -> Int {
        let logger = self.logger
        let cutoff = StoreTime.milliseconds(cutoff)
        return try await database.write { connection in
            try await PostgresAccountRows.changed(connection.query("""
                DELETE FROM webhook_event
                WHERE (state <> 0 AND finished_at < \(cutoff)) OR (state = 0 AND next_attempt_at < \(cutoff)) RETURNING id
                """, logger: logger))
        }
    }

    static func webhookEvents(_ rows: PostgresRowSequence) async throws -> [WebhookEvent] {
        var events: [WebhookEvent] = []
        for try await (id, type, thread, message, occurred, state, attempts, next, status, finished, field)
            in rows.decode((String, Int16, String?, String?, Int64, Int16, Int32, Int64, Int32?, Int64?, String?).self)
        {
            events.append(try WebhookEvent.stored(
                id: id, type: Int(type), thread: thread, message: message, occurredAt: occurred, state: Int(state),
                attempts: Int(attempts), nextAttemptAt: next, lastStatus: status.map(Int.init), finishedAt: finished,
                field: field))
        }
        return events
    }
}
