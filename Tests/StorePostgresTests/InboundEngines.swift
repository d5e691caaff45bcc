import Foundation
import MailValues
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The pipeline's inbound steps (``InboundStore``) on each engine, for ``InboundConformanceTests`` (issue 21).
enum InboundEngines {
    static let engines = ["sqlite", "postgresql", "postgresql-gateway-role"]

    /// Engine `name` ("sqlite", "postgresql", or "postgresql-gateway-role": PostgreSQL under a role with only the
    /// gateway's rights), with `nodes` stores on it (PostgreSQL: each its own pool; SQLite: the one store).
    /// `clock`: the store's time for audit rows and thread creation (``ImportEngines/start`` by default); `now`,
    /// when given, a clock the test moves instead.
    static func engine(_ name: String, nodes: Int = 1, masterKey: MasterKey = .generate(),
                       clock: Date = ImportEngines.start, now: (@Sendable () -> Date)? = nil) async throws
        -> InboundEngineUnderTest
    {
        var configuration = ImportEngines.configuration
        configuration.clock = now ?? { clock }
        if name == "sqlite" {
            let sqlite = try SQLiteImport(masterKey: masterKey, configuration: configuration)
            let store = sqlite.threads.store
            return InboundEngineUnderTest(
                nodes: Array(repeating: sqlite.threads, count: nodes), keepAlive: sqlite,
                close: { thread in try await store.write { tx in try tx.setState(.closed, of: thread) } },
                audit: {
                    try await store.read { tx in try tx.auditEntries(limit: 10_000) }.map { entry in
                        let count = entry.count.map(String.init) ?? "-"
                        return "\(entry.event.rawValue)/\(count)/\(entry.thread == nil ? "-" : "T")"
                    }
                },
                noticeCounts: {
                    try await store.read { tx in try tx.dueNoticeCounts(now: .distantFuture) }.map { count in
                        let key = StoreSecrets.noticeKey(count.recipient)
                        return [String(key.kind), key.recipient, count.field.rawValue, String(count.mode.rawValue),
                                String(count.count)].joined(separator: "/")
                    }
                })
        }
        let endpoint: PostgresEndpoint
        let database: TestDatabase
        if name == "postgresql-gateway-role" {
            let roles = try await PostgresTesting.twoRoles()
            (endpoint, database) = (roles.gateway, roles.database)
        } else {
            (endpoint, database) = try await PostgresTesting.freshEndpoint()
        }
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
        var pools: [RunningDatabase] = []
        var threads: [PostgresThreads] = []
        for _ in 0..<nodes {
            let pool = try RunningDatabase(endpoint)
            pools.append(pool)
            threads.append(try await PostgresThreads.open(pool.database, masterKey: masterKey,
                                                          configuration: configuration,
                                                          logger: PostgresTesting.logger))
        }
        let kept = PostgresImportNodes(database: database, pools: pools, threads: threads, masterKey: masterKey)
        return InboundEngineUnderTest(
            nodes: threads, keepAlive: kept,
            close: { thread in
                _ = try kept.psql("UPDATE thread SET state = \(ThreadState.closed.rawValue) " +
                                  "WHERE id = '\(thread.unredactedDescription)'")
            },
            audit: {
                try lines(kept.psql("""
                    SELECT event || '/' || coalesce(count::text, '-') || '/'
                        || CASE WHEN thread_id IS NULL THEN '-' ELSE 'T' END FROM audit ORDER BY id
                    """))
            },
            noticeCounts: {
                try lines(kept.psql("""
                    SELECT recipient_kind || '/' || recipient || '/' || field || '/' || period || '/' || count
                    FROM notice_pending ORDER BY window_end, recipient_kind, recipient, field
                    """))
            })
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A notice plan that queues a team notice (`each`) or counts the message for the team's hourly digest, and
    /// records the assignee it was given.
    static func notice(each: Bool = true) -> NoticePlan {
        NoticePlan(field: ImportEngines.field, time: ImportEngines.start) { thread, assignee in
            let recipient: NoticeRecipient = assignee.map { .account($0.account) } ?? .team(ImportEngines.field)
            guard each else { return .count(recipient, .hourly) }
            return .queue(NewOutboxItem(thread: nil, kind: .notification,
                                        recipient: try ClientAddress("team@example.org"),
                                        payload: Array("notice \(thread.unredactedDescription)".utf8),
                                        notBefore: ImportEngines.start), recipient)
        }
    }

    /// The stored verdict the pipeline's rule gives: valid for a registered key, else an unconfirmed key change.
    static let verdict: @Sendable (ClientKeyStanding) -> SignatureVerdictCode = {
        $0 == .registered ? .valid : .unconfirmedKeyChange
    }

    static func receipt(period: TimeInterval = 3600) -> ReceiptPlan {
        ReceiptPlan(recipient: try! ClientAddress("client1@example.org"), payload: Array(repeating: 0x42, count: 64),
                    period: period, time: ImportEngines.start)
    }

    /// The import of a client's message as the pipeline builds it.
    static func fromClient(_ message: NewMessage, _ identity: ClientIdentity, givesAwaitedKey: Bool = false,
                           references: [String] = [], each: Bool = true,
                           receipt: ReceiptPlan? = InboundEngines.receipt()) -> ClientMessageImport {
        ClientMessageImport(message: message, identity: identity, givesAwaitedKey: givesAwaitedKey,
                            references: references, verdict: verdict, notice: notice(each: each), receipt: receipt)
    }

    static func item(_ kind: OutboxKind = .redirectReply, to address: String = "client1@example.org")
        -> NewOutboxItem
    {
        NewOutboxItem(thread: nil, kind: kind, recipient: try! ClientAddress(address),
                      payload: Array("fixed text".utf8), notBefore: ImportEngines.start)
    }
}

/// One engine's inbound steps; `nodes` share one database. `audit` lists every audit row as
/// `event/count/thread-or-not` (thread IDs differ between engines), `noticeCounts` the digest counters.
struct InboundEngineUnderTest: Sendable {
    let nodes: [any InboundStore]
    let keepAlive: any Sendable
    let close: @Sendable (ThreadID) async throws -> Void
    let audit: @Sendable () async throws -> [String]
    let noticeCounts: @Sendable () async throws -> [String]

    var store: any InboundStore { nodes[0] }
}
