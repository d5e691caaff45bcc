import Foundation
import Testing
import ThreadStore

@testable import StorePostgres

/// `PostgresThreads.openThread` writes its audit row and read marks in the statement that reads the page (issue 21,
/// `openInboxPage`), before anything is opened. What the separate statements guaranteed must hold for it, on the
/// rows themselves: a thread outside the scope is not found and nothing of it is written; a value that does not
/// open rolls back the audit row, the read marks and the first view with it.
@Suite struct PostgresOpenThreadTests {
    let conformance = InboxConformanceTests()

    @Test func nothingIsWrittenOutsideTheScopeOrWhenAValueDoesNotOpen() async throws {
        let engine = try await InboxEngineUnderTest.engine("postgresql")
        let nodes = try #require(engine.inbound.keepAlive as? PostgresImportNodes)
        let (thread, otherThread, ids) = try await conformance.fill(engine)
        func written() throws -> [String] {
            InboundEngines.lines(try nodes.psql("""
                SELECT (SELECT count(*) FROM audit)::text UNION ALL
                SELECT (SELECT count(*) FROM message WHERE is_read)::text UNION ALL
                SELECT (SELECT count(*) FROM thread WHERE first_viewed_at IS NOT NULL)::text
                """))
        }
        let before = try written()
        #expect(before.count == 3 && before[1] == "0" && before[2] == "0")

        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await engine.inbox.openThread(otherThread, page: MessagePageRequest(), by: conformance.actor(),
                                              event: .threadViewed)
        }
        #expect(try written() == before)

        // The newest message's body replaced by the first one's: sealed for another message, it does not open.
        let (first, newest) = (ids[0].unredactedDescription, ids[2].unredactedDescription)
        _ = try nodes.psql("""
            CREATE TABLE kept AS SELECT id, body_sealed FROM message WHERE id = '\(newest)';
            UPDATE message SET body_sealed = (SELECT body_sealed FROM message WHERE id = '\(first)')
            WHERE id = '\(newest)'
            """)
        await #expect(throws: ThreadStoreError.self) {
            try await engine.inbox.openThread(thread, page: MessagePageRequest(), by: conformance.actor(),
                                              event: .threadViewed)
        }
        #expect(try written() == before)

        // Put back, the same open writes all three.
        _ = try nodes.psql("UPDATE message m SET body_sealed = k.body_sealed FROM kept k WHERE m.id = k.id")
        let view = try await engine.inbox.openThread(thread, page: MessagePageRequest(limit: 2),
                                                     by: conformance.actor(), event: .threadViewed)
        #expect(view.messages.map(\.id) == [ids[1], ids[2]] && view.messages[1].body == Array("Drei".utf8))
        #expect(view.page.earlierCount == 1 && view.page.earlierUnreadCount == 1 && view.page.laterCount == 0)
        #expect(try written() == [String(Int(before[0])! + 1), "2", "1"])
    }
}
