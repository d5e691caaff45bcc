// Security: reads the audit log of a PostgreSQL database for `mailbridge audit` (issue 21), as Queries.swift reads
// SQLite's: event codes, opaque IDs, counts and times; nothing to open. The filter's values are bound parameters.

import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: AuditLogStore {
    public func latestAuditEntries(_ filter: AuditFilter, limit: Int) async throws -> [AuditEntry] {
        var bindings = PostgresBindings()
        var conditions: [String] = []
        func condition(_ sql: String, _ value: some PostgresEncodable & Sendable) throws {
            try bindings.append(value)
            conditions.append(sql + " $\(bindings.count)")
        }
        if let thread = filter.thread { try condition("thread_id =", thread.unredactedDescription) }
        if let actor = filter.actor { try condition("actor_id =", actor.unredactedDescription) }
        if let since = filter.since { try condition("at >=", StoreTime.milliseconds(since)) }
        if let before = filter.before { try condition("id <", before) }
        if let organisation = filter.organisation {
            try bindings.append(organisation.fields.map(\.rawValue).sorted())
            try bindings.append(organisation.id.rawValue)
            let (fields, id) = (bindings.count - 1, bindings.count)
            // As on SQLite: rows about a thread by its field, rows without a thread by their account since its latest
            // move (`moved`).
            conditions.append("""
                (thread_id IN (SELECT id FROM thread WHERE field = ANY($\(fields)))
                 OR (thread_id IS NULL AND (
                     (actor_id IN (SELECT id FROM account WHERE organisation = $\(id))
                      AND NOT EXISTS (SELECT 1 FROM moved WHERE moved.item_id = audit.actor_id AND moved.since > audit.id))
                     OR (item_id IN (SELECT id FROM account WHERE organisation = $\(id))
                      AND NOT EXISTS (SELECT 1 FROM moved WHERE moved.item_id = audit.item_id AND moved.since > audit.id)))))
                """)
        }
        try bindings.append(Int64(min(max(limit, 0), 10_000)))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let moved = filter.organisation == nil ? "" : "WITH moved AS (SELECT item_id, max(id) AS since FROM audit "
            + "WHERE event = \(AuditEvent.accountOrganisationChanged.rawValue) GROUP BY item_id) "
        let query = PostgresQuery(unsafeSQL: """
            \(moved)SELECT id, at, event, thread_id, item_id, count, actor_id, channel, token_id FROM audit \(whereClause)
            ORDER BY id DESC LIMIT $\(bindings.count)
            """, binds: bindings)
        let logger = self.logger
        let rows = try await database.read { connection in
            let found = try await connection.query(query, logger: logger)
            var rows: [(Int64, Int64, Int32, String?, String?, Int64?, String?, Int16?, String?)] = []
            for try await row in found.decode(
                (Int64, Int64, Int32, String?, String?, Int64?, String?, Int16?, String?).self)
            {
                rows.append(row)
            }
            return rows
        }
        return try rows.reversed().map { id, at, event, thread, item, count, actor, channel, token in
            try AuditEntry.stored(sequence: id, atMilliseconds: at, event: Int(event), thread: thread, itemID: item,
                                  count: count, actor: actor, channel: channel.map(Int.init), tokenID: token)
        }
    }
}
