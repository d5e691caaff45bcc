// Security: retention on PostgreSQL (issue 21), as ThreadStore runs it on SQLite. Deleting a thread deletes its
// wrapped data key (`thread_key`) and, by cascade, its messages, attachments, outbox items and held replies; what
// VACUUM and the WAL still keep of the key row is in docs/postgresql.md ("Deleting a thread on PostgreSQL"). Audit
// entries are deleted only by `audit_prune` (schema version 4), which refuses entries younger than a year.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: MaintenanceStore {
    /// Threads deleted per transaction, as on SQLite.
    static let retentionBatch = 200

    public func applyRetention(policy: RetentionPolicy, now: Date) async throws -> RetentionReport {
        var deletedThreads = 0
        while true {
            let deleted = try await database.write { connection in
                let rows = rows(connection)
                let expired = try await expiredThreads(connection, policy: policy, now: now)
                for thread in expired {
                    try await rows.shred(thread, event: .threadDeletedByRetention, actor: nil, channel: nil)
                }
                return expired.count
            }
            deletedThreads += deleted
            if deleted < Self.retentionBatch { break }
        }
        let total = deletedThreads
        let report = try await database.write { connection in
            // As on SQLite, these audit rows carry the time retention was applied for.
            let rows = PostgresThreadRows(connection: connection, logger: logger, now: now)
            func deleted(_ query: PostgresQuery) async throws -> Int {
                try await PostgresAccountRows.changed(connection.query(query, logger: rows.logger))
            }
            let hashes = try await deleted("""
                DELETE FROM seen_ciphertext WHERE first_seen_at < \(policy.cutoff(days: policy.seenCiphertextDays, now: now))
                RETURNING hash
                """)
            let limits = try await deleted("""
                DELETE FROM sender_rate_limit WHERE last_sent_at < \(policy.cutoff(days: policy.rateLimitDays, now: now))
                RETURNING sender_hmac
                """)
            let outbox = try await deleted("""
                DELETE FROM outbox WHERE thread_id IS NULL AND state = \(OutboxState.failed.rawValue)
                    AND created_at < \(policy.cutoff(days: policy.failedOutboxDays, now: now))
                RETURNING id
                """)
            if outbox > 0 { try await rows.audit(.outboxDeletedByRetention, thread: nil, count: outbox) }
            var pruned = 0
            if let days = policy.auditDays {
                // The only deletion path for audit rows (the gateway's role holds no DELETE on `audit`).
                let result = try await connection.query(
                    "SELECT audit_prune(\(policy.cutoff(days: days, now: now)))", logger: rows.logger)
                for try await count in result.decode(Int64.self) { pruned = Int(count) }
                if pruned > 0 { try await rows.audit(.auditPruned, thread: nil, count: pruned) }
            }
            try await rows.audit(.retentionApplied, thread: nil, count: total)
            return RetentionReport.counted(deletedThreads: total, forgottenCiphertextHashes: hashes,
                                           forgottenRateLimits: limits, deletedOutboxItems: outbox,
                                           prunedAuditEntries: pruned)
        }
        logger.info("retention applied",
                    metadata: ["threads": "\(report.deletedThreads)", "audit": "\(report.prunedAuditEntries)"])
        return report
    }

    public func expireRejected(before cutoff: Date) async throws -> Int {
        try await database.write { connection in
            let rows = rows(connection)
            let count = try await PostgresAccountRows.changed(connection.query(
                "DELETE FROM rejected_message WHERE rejected_at < \(StoreTime.milliseconds(cutoff)) RETURNING id",
                logger: rows.logger))
            if count > 0 { try await rows.audit(.rejectedMessagesExpired, thread: nil, count: count) }
            return count
        }
    }

    public func sealThreadsUnderOrganisationKeys() async throws -> [OrganisationID: Int] {
        let organisations = secrets.organisationKeys
        var counts: [OrganisationID: Int] = [:]
        for organisation in organisations.organisations.sorted() where organisations.hasKey(for: organisation) {
            let names = organisations.fields(of: organisation).map(\.rawValue).sorted()
            var total = 0
            while true {
                let (sealed, seen) = try await database.write { connection in
                    let selected = try await connection.query("""
                        SELECT t.id, t.field, k.wrapped_key FROM thread AS t JOIN thread_key AS k ON k.thread_id = t.id
                        WHERE t.field = ANY(\(names)) AND octet_length(k.wrapped_key) = \(StoreSecrets.singleLayerLength)
                        LIMIT \(Self.retentionBatch) FOR UPDATE OF k
                        """, logger: logger)
                    var found: [(String, String, Data)] = []
                    for try await row in selected.decode((String, String, Data).self) { found.append(row) }
                    var count = 0
                    for (id, field, wrapped) in found {
                        let thread = try ThreadID(id)
                        guard let rewrapped = try secrets.addingOrganisationLayer(
                            wrapped, thread: thread, field: try CounsellingField(field))
                        else { continue }
                        try await connection.query(
                            "UPDATE thread_key SET wrapped_key = \(rewrapped) WHERE thread_id = \(id)", logger: logger)
                        count += 1
                    }
                    if count > 0 {
                        try await rows(connection).audit(.threadKeysSealedForOrganisation, thread: nil,
                                                         itemID: organisation.rawValue, count: count)
                    }
                    return (count, found.count)
                }
                total += sealed
                if seen < Self.retentionBatch || sealed == 0 { break }
            }
            if total > 0 { counts[organisation] = total }
        }
        return counts
    }

    public func shredOrganisation(_ organisation: OrganisationID, fields: Set<CounsellingField>,
                           retiredGatewayKeys: Int) async throws -> Int {
        let names = fields.map(\.rawValue).sorted()
        var total = 0
        while true {
            let deleted = try await database.write { connection in
                let rows = rows(connection)
                var ids: [ThreadID] = []
                let found = try await connection.query(
                    "SELECT id FROM thread WHERE field = ANY(\(names)) LIMIT \(Self.retentionBatch)", logger: logger)
                for try await id in found.decode(String.self) { ids.append(try ThreadID(id)) }
                for thread in ids { try await rows.shred(thread, event: .threadDeleted, actor: nil, channel: nil) }
                return ids.count
            }
            total += deleted
            if deleted < Self.retentionBatch { break }
        }
        // Its threads in fields it no longer owns (handed over, a mailbox removed): found by their key's layer.
        let secrets = self.secrets
        let layered = try await database.read { connection in
            var ids: [ThreadID] = []
            let rows = try await connection.query("""
                SELECT thread_id, wrapped_key FROM thread_key
                WHERE octet_length(wrapped_key) <> \(StoreSecrets.singleLayerLength)
                """, logger: logger)
            for try await (id, wrapped) in rows.decode((String, Data).self) {
                let thread = try ThreadID(id)
                if try secrets.organisation(ofWrappedKey: wrapped, thread: thread) == organisation { ids.append(thread) }
            }
            return ids
        }
        for start in stride(from: 0, to: layered.count, by: Self.retentionBatch) {
            let batch = Array(layered[start..<min(start + Self.retentionBatch, layered.count)])
            try await database.write { connection in
                let rows = rows(connection)
                for thread in batch { try await rows.shred(thread, event: .threadDeleted, actor: nil, channel: nil) }
            }
            total += batch.count
        }
        let shredded = total
        try await database.write { connection in
            let rows = rows(connection)
            try await connection.query(
                "DELETE FROM organisation_key WHERE organisation = \(organisation.rawValue)", logger: logger)
            try await rows.audit(.organisationGatewayKeysRetired, thread: nil, itemID: organisation.rawValue,
                                 count: retiredGatewayKeys)
            try await rows.audit(.organisationShredded, thread: nil, itemID: organisation.rawValue, count: shredded)
        }
        return total
    }

    /// At most one batch of expired threads, field by field as on SQLite (`expiredThreads`).
    private func expiredThreads(_ connection: PostgresConnection, policy: RetentionPolicy, now: Date) async throws
        -> [ThreadID]
    {
        let cutoffs = policy.threadCutoffs(now: now)
        var ids: [ThreadID] = []
        func add(_ rows: PostgresRowSequence) async throws {
            for try await id in rows.decode(String.self) { ids.append(try ThreadID(id)) }
        }
        for (field, cutoff) in cutoffs.fields where ids.count < Self.retentionBatch {
            try await add(connection.query("""
                SELECT id FROM thread WHERE field = \(field.rawValue) AND last_activity_at < \(cutoff)
                LIMIT \(Self.retentionBatch - ids.count)
                """, logger: logger))
        }
        if let cutoff = cutoffs.others, ids.count < Self.retentionBatch {
            try await add(connection.query("""
                SELECT id FROM thread WHERE NOT (field = ANY(\(cutoffs.fields.map(\.0.rawValue))))
                    AND last_activity_at < \(cutoff) LIMIT \(Self.retentionBatch - ids.count)
                """, logger: logger))
        }
        return ids
    }
}
