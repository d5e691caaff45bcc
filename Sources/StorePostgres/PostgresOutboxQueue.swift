// Security: the outbox of several gateway nodes on PostgreSQL (issue 21). Rows arrive and leave sealed; they are
// opened here with ThreadStore's own code (StoreSecrets) after the transaction, so PostgreSQL only ever holds
// ciphertext, opaque IDs, codes, times and node names. Nothing opened is logged.

public import Foundation
public import Logging
import PostgresNIO
public import ThreadStore

/// A pending outbox item claimed by this node: opened, with its thread's counselling field (a counsellor reply
/// goes out from that field's mailbox).
public struct ClaimedOutboxItem: Sendable, CustomStringConvertible {
    public var item: OutboxItem
    public var field: CounsellingField?

    public var description: String { "ClaimedOutboxItem(\(item))" }
}

/// The shared outbox: every node queues into it, and each due item is delivered by one node at a time through a
/// lease (``PostgresOutbox``: `FOR UPDATE SKIP LOCKED`, taken over when it runs out).
///
/// A result (delivered, retry, failed) is recorded only while this node still holds the item's lease: a node whose
/// lease ran out during a slow delivery learns it (`false`) and cannot undo the new holder's work. The lease is
/// ``lease``, which must be longer than one delivery attempt; a node that dies mid-delivery has its items taken
/// over by the next node that claims after the lease ends. Delivery stays at-least-once at that edge (SMTP cannot be
/// fenced), as on one node after a crash; the Message-ID is the same on every attempt.
///
/// ```swift
/// let outbox = try await PostgresOutboxQueue.open(database, masterKey: key, node: "node-a", logger: logger)
/// for claimed in try await outbox.claimDue(now: Date(), limit: 50) {
///     … deliver claimed.item …
///     _ = try await outbox.markDelivered(claimed.item.id)
/// }
/// ```
public final class PostgresOutboxQueue: Sendable {
    let database: PostgresDatabase
    let secrets: StoreSecrets
    let node: PostgresNodeID
    /// How long a claim holds an item.
    public let lease: Duration
    /// ``lease`` in milliseconds, as leases are stored.
    public var leaseMilliseconds: Int64 { lease.storedMilliseconds }
    let configuration: ThreadStore.Configuration
    let logger: Logger

    init(database: PostgresDatabase, secrets: StoreSecrets, node: PostgresNodeID, lease: Duration,
         configuration: ThreadStore.Configuration, logger: Logger) {
        self.database = database
        self.secrets = secrets
        self.node = node
        self.lease = lease
        self.configuration = configuration
        self.logger = logger
    }

    /// Checks the master key against the database (as ``PostgresThreads/open(_:masterKey:configuration:logger:)``)
    /// and names this node: 1 to 64 characters of `[A-Za-z0-9._-]`, distinct per node.
    /// - Throws: ``ThreadStoreError/invalidValue`` for another node name or a lease under one second;
    ///   ``ThreadStoreError/wrongMasterKey``.
    public static func open(
        _ database: PostgresDatabase, masterKey: MasterKey, node: String, lease: Duration = .seconds(600),
        configuration: ThreadStore.Configuration = ThreadStore.Configuration(), logger: Logger
    ) async throws -> PostgresOutboxQueue {
        let id = try nodeID(node, lease: lease)
        let state = try await PostgresWebState.open(database, masterKey: masterKey, clock: configuration.clock,
                                                    organisationKeys: configuration.organisationKeys, logger: logger)
        return PostgresOutboxQueue(database: database, secrets: state.secrets, node: id, lease: lease,
                                   configuration: configuration, logger: logger)
    }

    /// `node` as a node name, if it is one and `lease` is at least one second.
    /// - Throws: ``ThreadStoreError/invalidValue``.
    static func nodeID(_ node: String, lease: Duration) throws -> PostgresNodeID {
        guard let id = PostgresNodeID(node), lease >= .seconds(1) else { throw ThreadStoreError.invalidValue }
        return id
    }

    /// Queues an item (sealed with its thread's data key, or the outbox key), audited as on SQLite.
    /// - Throws: ``ThreadStoreError/limitExceeded``; ``ThreadStoreError/threadNotFound``.
    @discardableResult
    public func enqueue(_ item: NewOutboxItem) async throws -> OutboxItemID {
        let (secrets, configuration, logger) = (self.secrets, self.configuration, self.logger)
        return try await database.write { connection in
            let now = configuration.clock()
            let rows = PostgresThreadRows(connection: connection, logger: logger, now: now)
            var dataKey: ThreadDataKey?
            if let thread = item.thread {
                dataKey = try await rows.dataKey(thread, secrets: secrets)
            }
            let sealed = try secrets.sealOutboxItem(item, with: dataKey, now: now, limits: configuration)
            try await rows.insertOutboxItem(sealed)
            return sealed.id
        }
    }

    /// Leases up to `limit` due items to this node until `now` + ``lease`` and opens them, oldest due first.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when a row or its thread's key was altered.
    public func claimDue(now: Date, limit: Int) async throws -> [ClaimedOutboxItem] {
        guard limit > 0, limit <= configuration.maximumPageSize else { throw ThreadStoreError.limitExceeded }
        let (node, logger) = (self.node, self.logger)
        let leaseMilliseconds = self.leaseMilliseconds
        // Issue 29: the items of threads whose organisation's key this node lacks wait for a node that has it.
        let closedFields = secrets.organisationKeys.closedFields
        let (rows, threads) = try await database.write { connection in
            let rows = try await PostgresOutbox.claim(
                node: node, now: StoreTime.milliseconds(now), leaseMilliseconds: leaseMilliseconds, limit: limit,
                closedFields: closedFields, on: connection, logger: logger)
            let ids = Array(Set(rows.compactMap(\.threadID)))
            var threads: [String: (field: String, wrapped: Data)] = [:]
            if !ids.isEmpty {
                let found = try await connection.query("""
                    SELECT t.id, t.field, k.wrapped_key FROM thread AS t JOIN thread_key AS k ON k.thread_id = t.id
                    WHERE t.id = ANY(\(ids))
                    """, logger: logger)
                for try await (id, field, wrapped) in found.decode((String, String, Data).self) {
                    threads[id] = (field, wrapped)
                }
            }
            return (rows, threads)
        }
        var keys: [ThreadID: ThreadDataKey] = [:]
        return try rows.compactMap { row in
            let thread = try row.threadID.map { try ThreadID($0) }
            var field: CounsellingField?
            var dataKey: ThreadDataKey?
            if let thread {
                guard let stored = threads[thread.unredactedDescription] else { throw ThreadStoreError.threadNotFound }
                field = try CounsellingField(stored.field)
                do {
                    dataKey = try keys[thread] ?? secrets.openDataKey(stored.wrapped, thread: thread)
                } catch let error as ThreadStoreError where error.code == .organisationKeyMissing {
                    // Issue 29: its organisation's key is not on this node; the item stays leased to this node
                    // until the lease ends (looked at again then, here or on a node that has the key).
                    return nil
                }
                keys[thread] = dataKey
            }
            guard let kind = OutboxKind(rawValue: row.kind) else { throw ThreadStoreError.invalidValue }
            let sealed = SealedOutboxRow(
                id: try OutboxItemID(row.id), thread: thread, kind: kind, attempts: row.attempts,
                nextAttemptAt: row.nextAttemptAt, createdAt: row.createdAt,
                recipientSealed: Data(row.recipientSealed), payloadSealed: Data(row.payloadSealed))
            return ClaimedOutboxItem(item: try secrets.openOutboxRow(sealed, with: dataKey), field: field)
        }
    }

    /// When an item may next be claimed: the earliest pending item's next attempt, or the end of its lease if a
    /// node holds it; nil when nothing is pending.
    public func nextClaimDate() async throws -> Date? {
        let logger = self.logger
        let closedFields = secrets.organisationKeys.closedFields
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT min(greatest(next_attempt_at, coalesce(lease_until, 0))) FROM outbox
                WHERE state = \(OutboxState.pending.rawValue)
                  AND (thread_id IS NULL
                       OR thread_id NOT IN (SELECT id FROM thread WHERE field = ANY(\(closedFields))))
                """, logger: logger)
            for try await value in rows.decode(Int64?.self) { return value.map(StoreTime.date) }
            return nil
        }
    }

    /// Delivered: deletes the item if this node holds its lease (audited `outboxDelivered`). False when the lease
    /// was taken over (another node now holds the item).
    public func markDelivered(_ id: OutboxItemID) async throws -> Bool {
        try await settle(id, event: .outboxDelivered) { node, connection, logger in
            try await PostgresOutbox.markDelivered(id.unredactedDescription, node: node, on: connection,
                                                   logger: logger)
        }
    }

    /// A temporary failure: counts the attempt, sets the next one and releases the lease. False without the lease.
    public func scheduleRetry(_ id: OutboxItemID, at next: Date) async throws -> Bool {
        try await settle(id, event: nil) { node, connection, logger in
            try await PostgresOutbox.scheduleRetry(id.unredactedDescription, node: node,
                                                   at: StoreTime.milliseconds(next), on: connection, logger: logger)
        }
    }

    /// A permanent failure (audited `outboxFailed`). False without the lease.
    public func markFailed(_ id: OutboxItemID) async throws -> Bool {
        try await settle(id, event: .outboxFailed) { node, connection, logger in
            try await PostgresOutbox.markFailed(id.unredactedDescription, node: node, on: connection, logger: logger)
        }
    }

    /// Extends this node's lease on an item it is delivering to `now` + ``lease``: a delivery that outlasts a third
    /// of the lease renews it, so that no other node claims an item whose delivery is still running. False when the
    /// lease was taken over (its delivery ran past the lease without renewal): another node holds the item now.
    public func renewLease(_ id: OutboxItemID, now: Date) async throws -> Bool {
        let (node, logger) = (self.node, self.logger)
        let until = StoreTime.milliseconds(now) + leaseMilliseconds
        return try await database.write { connection in
            try await PostgresOutbox.renewLease(id.unredactedDescription, node: node, until: until,
                                                on: connection, logger: logger)
        }
    }

    /// Every outbox row of the database (every node's; pending and failed), oldest next attempt first, at most
    /// `limit`, as `mailbridge queue list` shows them. Decrypts nothing.
    /// - Throws: ``ThreadStoreError/limitExceeded``; ``ThreadStoreError/invalidValue`` for a row that does not parse.
    public func overview(limit: Int = 500) async throws -> [OutboxEntry] {
        guard limit > 0, limit <= configuration.maximumPageSize else { throw ThreadStoreError.limitExceeded }
        let logger = self.logger
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT id, kind, state, attempts, next_attempt_at, created_at, payload_size FROM outbox
                ORDER BY next_attempt_at, id LIMIT \(limit)
                """, logger: logger)
            var entries: [OutboxEntry] = []
            for try await (id, kind, state, attempts, next, created, size) in rows.decode(
                (String, Int, Int, Int, Int64, Int64, Int64).self)
            {
                guard let id = try? OutboxItemID(id), let kind = OutboxKind(rawValue: kind),
                    let state = OutboxState(rawValue: state)
                else { throw ThreadStoreError.invalidValue }
                entries.append(OutboxEntry(id: id, kind: kind, state: state, attempts: attempts,
                                           nextAttemptAt: StoreTime.date(next), queuedAt: StoreTime.date(created),
                                           payloadSize: Int(size)))
            }
            return entries
        }
    }

    /// After a crash, a delivery the smarthost accepted (the delivery journal): deletes the item whoever holds its
    /// lease now, since the mail went out. False when it is gone already.
    public func markDeliveredAfterCrash(_ text: String) async throws -> Bool {
        guard let id = try? OutboxItemID(text) else { return false }
        let (configuration, logger) = (self.configuration, self.logger)
        return try await database.write { connection in
            let rows = PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock())
            try await PostgresOutboxQueue.lockThread(ofItem: id, on: connection, logger: logger)
            let deleted = try await connection.query(
                "DELETE FROM outbox WHERE id = \(id.unredactedDescription) RETURNING thread_id", logger: logger)
            for try await thread in deleted.decode(String?.self) {
                try await rows.audit(.outboxDelivered, thread: try thread.map { try ThreadID($0) },
                                     itemID: id.unredactedDescription)
                return true
            }
            return false
        }
    }

    private func settle(
        _ id: OutboxItemID, event: AuditEvent?,
        _ change: @escaping @Sendable (PostgresNodeID, PostgresConnection, Logger) async throws -> Bool
    ) async throws -> Bool {
        let (node, configuration, logger) = (self.node, self.configuration, self.logger)
        return try await database.write { connection in
            let found = try await connection.query("""
                SELECT thread_id FROM outbox WHERE id = \(id.unredactedDescription) AND lease_owner = \(node.raw)
                """, logger: logger)
            var thread: ThreadID??
            for try await text in found.decode(String?.self) { thread = .some(try text.map { try ThreadID($0) }) }
            guard let thread else { return false }
            if event == .outboxDelivered {
                try await PostgresOutboxQueue.lockThread(ofItem: id, on: connection, logger: logger)
            }
            guard try await change(node, connection, logger) else { return false }
            if let event {
                let rows = PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock())
                try await rows.audit(event, thread: thread, itemID: id.unredactedDescription)
            }
            return true
        }
    }
}

extension PostgresOutboxQueue {
    /// Takes the key-share lock on the thread of outbox item `id` (if it has one) before the item is deleted: the
    /// audit row of the delivery records a webhook event, whose foreign key takes that lock on the thread, while
    /// deleting a thread locks the thread first and then its outbox rows. Taken here first, both lock in the same
    /// order and cannot deadlock.
    static func lockThread(ofItem id: OutboxItemID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            SELECT 1 FROM thread WHERE id = (SELECT thread_id FROM outbox WHERE id = \(id.unredactedDescription))
            FOR KEY SHARE
            """, logger: logger)
    }
}

extension Duration {
    /// This duration in whole milliseconds, as leases are stored (outbox and inbound spool).
    var storedMilliseconds: Int64 {
        Int64(components.seconds) * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
