import Foundation
import Testing
import ThreadStore

@testable import StorePostgres

/// Schema version 5 (SQLite's v17) on PostgreSQL: a counsellor reply's delivery state follows its outbox row, kept
/// by the triggers, through the shared outbox's own statements (`PostgresOutboxQueue`).
@Suite struct PostgresReplyDeliveryTests {
    @Test func deliveryStatesFollowTheOutboxRows() async throws {
        let nodes = try await ImportEngines.postgres()
        let threads = try #require(nodes.threads.first)
        var messages: [StoredMessageID] = []
        var thread: ThreadID?
        for number in 1...3 {
            let outcome = try await threads.importMessage(ImportEngines.message("m\(number)"),
                                                          into: .client(ImportEngines.identity(1)))
            guard case .stored(let stored, let message, _) = outcome else {
                Issue.record("not stored: \(outcome)")
                return
            }
            thread = stored
            messages.append(message)
        }
        let outbox = try await PostgresOutboxQueue.open(nodes.pools[0].database, masterKey: nodes.masterKey,
                                                        node: "node-a", logger: PostgresTesting.logger)
        var items: [OutboxItemID] = []
        for _ in 0..<3 {
            items.append(try await outbox.enqueue(NewOutboxItem(
                thread: thread, kind: .counsellorReply, recipient: try ClientAddress("client1@example.org"),
                payload: Array("verschlüsselte Antwort".utf8), notBefore: ImportEngines.start)))
        }
        for (message, item) in zip(messages, items) {
            _ = try nodes.psql("""
                INSERT INTO reply_delivery (message_id, author_id, outbox_id, state)
                VALUES ('\(message.unredactedDescription)', NULL, '\(item.unredactedDescription)', 0)
                """)
        }
        let claimed = try await outbox.claimDue(now: ImportEngines.start, limit: 10)
        #expect(claimed.count == 3)
        #expect(try await outbox.markDelivered(items[0]))
        #expect(try await outbox.markFailed(items[1]))
        #expect(try await outbox.scheduleRetry(items[2], at: ImportEngines.start.addingTimeInterval(60)))
        func state(_ message: StoredMessageID) throws -> String {
            try nodes.psql("SELECT coalesce(state::text, 'null') FROM reply_delivery WHERE message_id = '"
                           + message.unredactedDescription + "'").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try state(messages[0]) == "1", "delivered")
        #expect(try state(messages[1]) == "2", "failed")
        #expect(try state(messages[2]) == "0", "a retry leaves it pending")
    }
}
