// Security: deletion here is crypto-shredding. A thread's wrapped data key and all its rows are deleted in one
// transaction with `secure_delete=ON` (SQLite overwrites the freed cells and pages with zeros), then the WAL is
// checkpointed and truncated so no older page images of the thread survive in the -wal file. Backups are page
// copies of the encrypted database: sealed columns stay sealed, and the backup opens only with the master key.

public import Foundation
import GRDB
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ThreadStore {
    /// Deletes a thread for good: its data key, messages, attachments and outbox items; then truncates the WAL.
    /// The audit log records the deletion (thread ID, time, `actor`, the counsellor who did it, and `channel`, how;
    /// nothing else).
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/checkpointIncomplete`` if readers kept
    ///   the WAL busy (the deletion itself is committed; call ``checkpoint()`` again).
    public func deleteThread(_ id: ThreadID, actor: AccountID? = nil, via channel: AuditChannel? = nil) async throws {
        try await write(via: channel) { tx in
            try tx.requireThread(id)
            try tx.shred(id, event: .threadDeleted, actor: actor)
        }
        try await checkpointAfterShredding()
    }

    /// Deletes an account (``WriteTransaction/deleteAccount(_:actor:)``), then truncates the WAL so its name and
    /// hashes are gone from the files (`secure_delete` zeroes the freed database space).
    /// - Throws: ``ThreadStoreError/accountNotFound``; ``ThreadStoreError/checkpointIncomplete`` as for
    ///   ``deleteThread(_:actor:via:)``.
    public func deleteAccount(_ id: AccountID, actor: AccountID? = nil, via channel: AuditChannel? = nil) async throws {
        try await write(via: channel) { tx in try tx.deleteAccount(id, actor: actor) }
        try await checkpointAfterShredding()
    }

    /// See ``MaintenanceStore/sealThreadsUnderOrganisationKeys()``.
    public func sealThreadsUnderOrganisationKeys() async throws -> [OrganisationID: Int] {
        let organisations = keys.organisations
        var counts: [OrganisationID: Int] = [:]
        for organisation in organisations.organisations.sorted() where organisations.hasKey(for: organisation) {
            let fields = organisations.fields(of: organisation)
            let names = String(decoding: try JSONEncoder().encode(fields.map(\.rawValue).sorted()), as: UTF8.self)
            var total = 0
            while true {
                let sealed = try await write { tx in
                    let rows = try Row.fetchAll(tx.db, sql: """
                        SELECT t.id, t.field, k.wrapped_key FROM thread t JOIN thread_key k ON k.thread_id = t.id
                        WHERE t.field IN (SELECT value FROM json_each(?)) AND length(k.wrapped_key) = ? LIMIT 200
                        """, arguments: [names, Sealing.singleLayerLength])
                    var count = 0
                    for row in rows {
                        let thread = try ThreadID(row["id"] as String)
                        guard let wrapped = try Sealing.addingOrganisationLayer(
                            row["wrapped_key"], for: thread, field: try CounsellingField(row["field"] as String),
                            keys: tx.context.keys)
                        else { continue }
                        try tx.db.execute(sql: "UPDATE thread_key SET wrapped_key = ? WHERE thread_id = ?",
                                          arguments: [wrapped, thread.raw.text])
                        count += 1
                    }
                    if count > 0 {
                        try AuditLog.append(tx.db, at: tx.now, event: .threadKeysSealedForOrganisation,
                                            itemID: organisation.rawValue, count: count)
                    }
                    return (count, rows.count)
                }
                total += sealed.0
                if sealed.1 < 200 || sealed.0 == 0 { break }
            }
            if total > 0 { counts[organisation] = total }
        }
        return counts
    }

    /// Crypto-shreds an organisation's threads and key check (``MaintenanceStore/shredOrganisation(_:fields:)``),
    /// then truncates the WAL.
    public func shredOrganisation(_ organisation: OrganisationID, fields: Set<CounsellingField>,
                           retiredGatewayKeys: Int) async throws -> Int {
        let names = String(decoding: try JSONEncoder().encode(fields.map(\.rawValue).sorted()), as: UTF8.self)
        var total = 0
        while true {
            let deleted = try await write { tx in
                let ids = try String.fetchAll(tx.db, sql: """
                    SELECT id FROM thread WHERE field IN (SELECT value FROM json_each(?)) LIMIT 200
                    """, arguments: [names])
                for id in ids { try tx.shred(try ThreadID(id), event: .threadDeleted) }
                return ids.count
            }
            total += deleted
            if deleted < 200 { break }
        }
        // Its threads in fields it no longer owns (handed over, a mailbox removed): found by their key's layer.
        let keys = self.keys
        let layered = try await read { tx in
            var ids: [ThreadID] = []
            let rows = try Row.fetchCursor(
                tx.db, sql: "SELECT thread_id, wrapped_key FROM thread_key WHERE length(wrapped_key) <> ?",
                arguments: [Sealing.singleLayerLength])
            while let row = try rows.next() {
                let thread = try ThreadID(row["thread_id"] as String)
                if try Sealing.organisation(of: row["wrapped_key"], for: thread, keys: keys) == organisation {
                    ids.append(thread)
                }
            }
            return ids
        }
        for start in stride(from: 0, to: layered.count, by: 200) {
            let batch = layered[start..<min(start + 200, layered.count)]
            try await write { tx in for thread in batch { try tx.shred(thread, event: .threadDeleted) } }
            total += batch.count
        }
        try await write { [total] tx in
            try tx.db.execute(sql: "DELETE FROM organisation_key WHERE organisation = ?",
                              arguments: [organisation.rawValue])
            try AuditLog.append(tx.db, at: tx.now, event: .organisationGatewayKeysRetired,
                                itemID: organisation.rawValue, count: retiredGatewayKeys)
            try AuditLog.append(tx.db, at: tx.now, event: .organisationShredded, itemID: organisation.rawValue,
                                count: total)
        }
        try await checkpointAfterShredding()
        return total
    }

    /// Applies a retention policy at time `now`: deletes threads whose last activity is older than their field's
    /// limit (in batches, each its own transaction), forgets old replay hashes, rate-limit entries and failed
    /// thread-less outbox items, prunes old audit entries, then truncates the WAL.
    public func applyRetention(policy: RetentionPolicy, now: Date) async throws -> RetentionReport {
        var report = RetentionReport(
            deletedThreads: 0,
            forgottenCiphertextHashes: 0,
            forgottenRateLimits: 0,
            deletedOutboxItems: 0,
            prunedAuditEntries: 0
        )
        let batchSize = 200
        while true {
            let deleted = try await write { tx in
                let expired = try tx.expiredThreads(policy: policy, now: now, limit: batchSize)
                for thread in expired { try tx.shred(thread, event: .threadDeletedByRetention) }
                return expired.count
            }
            report.deletedThreads += deleted
            if deleted < batchSize { break }
        }
        let totals = report.deletedThreads
        let other = try await write { tx in try tx.forgetExpired(policy: policy, now: now, deletedThreads: totals) }
        report.forgottenCiphertextHashes = other.forgottenCiphertextHashes
        report.forgottenRateLimits = other.forgottenRateLimits
        report.deletedOutboxItems = other.deletedOutboxItems
        report.prunedAuditEntries = other.prunedAuditEntries
        try await checkpointAfterShredding()
        configuration.logger.info(
            "retention applied",
            metadata: ["threads": "\(report.deletedThreads)", "audit": "\(report.prunedAuditEntries)"]
        )
        return report
    }

    /// Writes a consistent online copy of the store to a new file (SQLite backup API, while reads and writes go
    /// on). The copy is as encrypted as the store and opens only with the same master key.
    /// - Throws: ``ThreadStoreError/backupFailed`` if the destination exists or cannot be written.
    public func backup(to destination: URL) async throws {
        let fd = open(destination.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw ThreadStoreError.backupFailed }
        closeDescriptor(fd)
        let pool = self.pool
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // sqlite3_backup_step blocks: run it on a dispatch thread, not on the caller's executor.
                DispatchQueue.global().async {
                    do {
                        var config = GRDB.Configuration()
                        config.prepareDatabase { db in try db.execute(sql: "PRAGMA secure_delete = ON") }
                        let target = try DatabaseQueue(path: destination.path, configuration: config)
                        // https://www.sqlite.org/backup.html — copies pages 100 at a time, so the writer is not
                        // held off for the whole copy.
                        try pool.backup(to: target, pagesPerStep: 100)
                        try target.close()
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } catch {
            unlink(destination.path)
            throw ThreadStoreError.backupFailed
        }
        let now = configuration.clock()
        try await write { tx in try AuditLog.append(tx.db, at: now, event: .backupWritten) }
    }

    /// Runs `PRAGMA integrity_check` and returns whether SQLite answers "ok".
    public func integrityCheck() async throws -> Bool {
        try await mappingDatabaseErrors {
            try await pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"] }
        }
    }

    /// TRUNCATE checkpoint, retried briefly while readers hold the WAL.
    func checkpointAfterShredding() async throws {
        for attempt in 0..<20 {
            do {
                try await checkpoint()
                return
            } catch let error as ThreadStoreError
                where error.code == .checkpointIncomplete || error.code == .storageFailure
            {
                if attempt == 19 { throw ThreadStoreError.checkpointIncomplete }
                try await Task.sleep(nanoseconds: 25_000_000)
            }
        }
    }
}

extension WriteTransaction {
    /// Deletes the thread's key first (from then on its rows are noise), then its rows.
    func shred(_ thread: ThreadID, event: AuditEvent, actor: AccountID? = nil) throws {
        let id = thread.raw.text
        try db.cachedStatement(sql: "DELETE FROM thread_key WHERE thread_id = ?").execute(arguments: [id])
        try db.cachedStatement(
            sql: "DELETE FROM attachment WHERE message_id IN (SELECT id FROM message WHERE thread_id = ?)"
        ).execute(
            arguments: [id]
        )
        try db.cachedStatement(sql: "DELETE FROM message WHERE thread_id = ?").execute(arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM outbox WHERE thread_id = ?").execute(arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM thread WHERE id = ?").execute(arguments: [id])
        try AuditLog.append(db, at: now, event: event, thread: thread, actor: actor,
                            channel: context.auditChannel)
    }

    func expiredThreads(policy: RetentionPolicy, now: Date, limit: Int) throws -> [ThreadID] {
        let cutoffs = policy.threadCutoffs(now: now)
        var ids: [String] = []
        for (field, cutoff) in cutoffs.fields where ids.count < limit {
            ids += try String.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM thread WHERE field = ? AND last_activity_at < ? LIMIT ?"),
                arguments: [field.rawValue, cutoff, limit - ids.count]
            )
        }
        if let cutoff = cutoffs.others, ids.count < limit {
            let listed = cutoffs.fields.map(\.0.rawValue)
            let placeholders = Array(repeating: "?", count: listed.count).joined(separator: ", ")
            var arguments = StatementArguments(listed)
            arguments += [cutoff, limit - ids.count]
            ids += try String.fetchAll(
                db.cachedStatement(
                    sql: "SELECT id FROM thread WHERE field NOT IN (\(placeholders)) AND last_activity_at < ? LIMIT ?"
                ),
                arguments: arguments
            )
        }
        return try ids.map { text in try ThreadID(text) }
    }

    func forgetExpired(policy: RetentionPolicy, now: Date, deletedThreads: Int) throws -> RetentionReport {
        func cutoff(_ days: Int) -> Int64 { now.storeMilliseconds - Int64(days) * 86_400_000 }
        var report = RetentionReport(
            deletedThreads: deletedThreads,
            forgottenCiphertextHashes: 0,
            forgottenRateLimits: 0,
            deletedOutboxItems: 0,
            prunedAuditEntries: 0
        )
        try db.cachedStatement(sql: "DELETE FROM seen_ciphertext WHERE first_seen_at < ?").execute(
            arguments: [cutoff(policy.seenCiphertextDays)]
        )
        report.forgottenCiphertextHashes = db.changesCount
        try db.cachedStatement(sql: "DELETE FROM sender_rate_limit WHERE last_sent_at < ?").execute(
            arguments: [cutoff(policy.rateLimitDays)]
        )
        report.forgottenRateLimits = db.changesCount
        try db.cachedStatement(sql: "DELETE FROM outbox WHERE thread_id IS NULL AND state = ? AND created_at < ?")
            .execute(
                arguments: [OutboxState.failed.rawValue, cutoff(policy.failedOutboxDays)]
            )
        report.deletedOutboxItems = db.changesCount
        if report.deletedOutboxItems > 0 {
            try AuditLog.append(db, at: now, event: .outboxDeletedByRetention, count: report.deletedOutboxItems)
        }
        if let days = policy.auditDays {
            // The only deletion path for audit rows: open the gate, delete, close it, all in this transaction.
            try db.execute(sql: "UPDATE audit_prune_gate SET open = 1 WHERE id = 1")
            try db.cachedStatement(sql: "DELETE FROM audit WHERE at < ?").execute(arguments: [cutoff(days)])
            report.prunedAuditEntries = db.changesCount
            try db.execute(sql: "UPDATE audit_prune_gate SET open = 0 WHERE id = 1")
            if report.prunedAuditEntries > 0 {
                try AuditLog.append(db, at: now, event: .auditPruned, count: report.prunedAuditEntries)
            }
        }
        try AuditLog.append(db, at: now, event: .retentionApplied, count: deletedThreads)
        return report
    }
}
