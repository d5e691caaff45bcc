import Foundation
import Synchronization
import TestSupport
import ThreadStore

@testable import StorePostgres

/// A store clock the test moves (audit times, thread creation), the same instants on both engines.
final class MovableClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = ImportEngines.start) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) { current.withLock { $0.addTimeInterval(seconds) } }
}

/// The seams of ``GatewayStores`` (MailBridge) that run on ``PostgresThreads``, over one engine (issue 21): on
/// SQLite the `ThreadStore*` adapters of one store, on PostgreSQL one node's ``PostgresThreads``. The store's clock
/// is `clock`. For ``GaugeConformanceTests``, ``AuditConformanceTests``, ``RejectedConformanceTests``,
/// ``ThreadDeletionConformanceTests`` and ``WebhookEventConformanceTests``.
struct SeamEngineUnderTest: Sendable {
    let name: String
    let clock: MovableClock
    let inbound: InboundEngineUnderTest
    let inbox: any InboxStore
    let replies: any ReplyStore
    let gauges: any GaugeStore
    let audit: any AuditLogStore
    let rejected: any RejectedMessageStore
    let webhooks: any WebhookEventStore
    /// What the outbound queue does to one pending item of `kind` when it is done with it: delivered (the item
    /// goes) or failed for good (it stays, failed). On PostgreSQL through the lease rows (``PostgresOutbox``).
    let settle: @Sendable (_ kind: OutboxKind, _ delivered: Bool) async throws -> Void
    /// For each table of the schema with a `thread_id` column (but `audit`, which keeps the IDs of deleted
    /// threads), plus `thread` by `id` and `attachment` by the messages given: how many rows belong to the thread.
    let rowsOfThread: @Sendable (_ thread: ThreadID, _ messages: [StoredMessageID]) async throws -> [String: Int]
    /// One SQL statement on the engine's database, outside the store (`sqlite3`, `psql` as the owner), its rows as
    /// text: for changing a row behind the store's back.
    let sql: @Sendable (String) throws -> String

    var importer: any InboundStore { inbound.store }

    static let engines = InboundEngines.engines

    static func engine(_ name: String, clock: MovableClock = MovableClock()) async throws -> SeamEngineUnderTest {
        let inbound = try await InboundEngines.engine(name, now: { clock.now })
        if let sqlite = inbound.keepAlive as? SQLiteImport {
            let store = sqlite.threads.store
            return SeamEngineUnderTest(
                name: name, clock: clock, inbound: inbound, inbox: ThreadStoreInbox(store),
                replies: ThreadStoreReplies(store), gauges: ThreadStoreGauges(store), audit: ThreadStoreAuditLog(store),
                rejected: ThreadStoreRejectedMessages(store), webhooks: ThreadStoreWebhookEvents(store),
                settle: { kind, delivered in
                    try await store.write { tx in
                        guard let item = try tx.dueOutboxItems(now: .distantFuture)
                            .first(where: { $0.kind == kind })
                        else { throw TestFailure("no pending \(kind) item") }
                        if delivered { try tx.markOutboxDelivered(item.id) } else { try tx.markOutboxFailed(item.id) }
                    }
                },
                rowsOfThread: { thread, messages in try await sqliteRows(store, thread, messages) },
                sql: { statement in
                    let file = sqlite.folder.appendingPathComponent("threads.sqlite").path
                    return String(decoding: try Shell.run("sqlite3", [file, "PRAGMA busy_timeout = 5000; " + statement])
                        .stdout, as: UTF8.self)
                })
        }
        let nodes = inbound.keepAlive as! PostgresImportNodes
        let threads = nodes.threads[0]
        let database = nodes.pools[0].database
        return SeamEngineUnderTest(
            name: name, clock: clock, inbound: inbound, inbox: threads, replies: threads, gauges: threads,
            audit: threads, rejected: threads, webhooks: threads,
            settle: { kind, delivered in
                let node = PostgresNodeID("node-a")!
                let logger = PostgresTesting.logger
                // A lease of 0 ms at a far time: every pending row is claimable again by the next call.
                let done = try await database.write { connection in
                    let claimed = try await PostgresOutbox.claim(node: node, now: Int64(1) << 50, leaseMilliseconds: 0,
                                                                 limit: 1000, on: connection, logger: logger)
                    guard let row = claimed.first(where: { $0.kind == kind.rawValue }) else { return false }
                    if delivered {
                        // Audited as `PostgresOutboxQueue.markDelivered` audits it (the webhook trigger reads it).
                        guard try await PostgresOutbox.markDelivered(row.id, node: node, on: connection,
                                                                     logger: logger)
                        else { return false }
                        try await PostgresThreadRows(connection: connection, logger: logger, now: clock.now).audit(
                            .outboxDelivered, thread: try row.threadID.map { try ThreadID($0) }, itemID: row.id)
                        return true
                    }
                    return try await PostgresOutbox.markFailed(row.id, node: node, on: connection, logger: logger)
                }
                guard done else { throw TestFailure("no pending \(kind) item") }
            },
            rowsOfThread: { thread, messages in try postgresRows(nodes, thread, messages) },
            sql: { statement in try nodes.psql(statement) })
    }

    private static func sqliteRows(_ store: ThreadStore, _ thread: ThreadID, _ messages: [StoredMessageID])
        async throws -> [String: Int]
    {
        let id = StoredValue.text(thread.unredactedDescription)
        let messageIDs = Set(messages.map { StoredValue.text($0.unredactedDescription) })
        var counts: [String: Int] = [:]
        for table in try await store.storedTables() where table.name != "audit" {
            let column: String
            let matches: (StoredValue) -> Bool
            if table.columns.contains("thread_id") {
                (column, matches) = ("thread_id", { $0 == id })
            } else if table.name == "thread" {
                (column, matches) = ("id", { $0 == id })
            } else if table.columns.contains("message_id") {
                (column, matches) = ("message_id", { messageIDs.contains($0) })
            } else {
                continue
            }
            let index = table.columns.firstIndex(of: column)!
            let rows = try await store.storedRows(table, after: nil, limit: 100_000)
            counts[table.name] = rows.filter { matches($0[index]) }.count
        }
        return counts
    }

    private static func postgresRows(_ nodes: PostgresImportNodes, _ thread: ThreadID,
                                     _ messages: [StoredMessageID]) throws -> [String: Int]
    {
        let id = thread.unredactedDescription
        let messageList = messages.isEmpty ? "''" : messages.map { "'\($0.unredactedDescription)'" }
            .joined(separator: ", ")
        func tables(_ column: String) throws -> Set<String> {
            Set(InboundEngines.lines(try nodes.psql("""
                SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'
                    AND column_name = '\(column)' AND table_name <> 'audit'
                """)))
        }
        let byThread = try tables("thread_id")
        let byMessage = try tables("message_id").subtracting(byThread)
        var counts: [String: Int] = [:]
        for (table, condition) in byThread.map({ ($0, "thread_id = '\(id)'") }) + [("thread", "id = '\(id)'")]
            + byMessage.map({ ($0, "message_id IN (\(messageList))") })
        {
            counts[table] = Int(InboundEngines.lines(try nodes.psql("SELECT count(*) FROM \(table) WHERE \(condition)"))
                .first ?? "")
        }
        return counts
    }
}
