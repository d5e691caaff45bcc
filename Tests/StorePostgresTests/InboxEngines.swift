import Foundation
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The counsellor inbox (``InboxStore``) on each engine, next to the import that fills it, for
/// ``InboxConformanceTests`` (issue 21). PostgreSQL has two nodes (two pools): the tests import on node B and read
/// on node A.
struct InboxEngineUnderTest: Sendable {
    let inbound: InboundEngineUnderTest
    /// Node A's inbox, and node B's (the same store on SQLite).
    let inboxes: [any InboxStore]
    let webState: any WebStateStore
    /// Every audit row as `event/count/item-or-not/actor-or-not/channel` (IDs differ between engines).
    let accessAudit: @Sendable () async throws -> [String]

    var inbox: any InboxStore { inboxes[0] }
    /// Node B's import.
    var importer: any InboundStore { inbound.nodes[inbound.nodes.count - 1] }

    static func engine(_ name: String, clock: Date = ImportEngines.start) async throws -> InboxEngineUnderTest {
        let inbound = try await InboundEngines.engine(name, nodes: 2, clock: clock)
        if let sqlite = inbound.keepAlive as? SQLiteImport {
            let store = sqlite.threads.store
            return InboxEngineUnderTest(
                inbound: inbound, inboxes: [ThreadStoreInbox(store), ThreadStoreInbox(store)],
                webState: ThreadStoreWebState(store),
                accessAudit: {
                    try await store.read { tx in try tx.auditEntries(limit: 10_000) }.map { entry in
                        [String(entry.event.rawValue), entry.count.map(String.init) ?? "-",
                         entry.itemID == nil ? "-" : "I", entry.actor == nil ? "-" : "A",
                         entry.channel.map { String($0.storedCode) } ?? "-"].joined(separator: "/")
                    }
                })
        }
        let nodes = inbound.keepAlive as! PostgresImportNodes
        let webState = try await PostgresWebState.open(nodes.pools[0].database, masterKey: nodes.masterKey,
                                                       clock: { ImportEngines.start }, logger: PostgresTesting.logger)
        return InboxEngineUnderTest(
            inbound: inbound, inboxes: nodes.threads, webState: webState,
            accessAudit: {
                InboundEngines.lines(try nodes.psql("""
                    SELECT event || '/' || coalesce(count::text, '-') || '/'
                        || CASE WHEN item_id IS NULL THEN '-' ELSE 'I' END || '/'
                        || CASE WHEN actor_id IS NULL THEN '-' ELSE 'A' END || '/'
                        || coalesce(channel::text, '-') FROM audit ORDER BY id
                    """))
            })
    }
}
