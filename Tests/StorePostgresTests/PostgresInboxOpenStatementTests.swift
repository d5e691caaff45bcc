import Foundation
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// Issue 21: the thread open runs as prepared statements (parsed once per connection). postgres-nio answers every
/// later use of a statement whose preparation failed with that failure, for the connection's life; after a failure
/// the open prepares its statements again under new names, so that once the cause is gone the next open works on
/// the same connection (a pool of one).
@Suite struct PostgresInboxOpenStatementTests {
    @Test func aFailedPreparationDoesNotStickToItsConnection() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
        let postgres = try PostgresDatabase(endpoint, maximumConnections: 1, logger: PostgresTesting.logger)
        let pool = await postgres.start()
        defer { pool.cancel() }
        let key = MasterKey.generate()
        let threads = try await PostgresThreads.open(postgres, masterKey: key, configuration: ImportEngines.configuration,
                                                     logger: PostgresTesting.logger)
        let outcome = try await threads.importMessage(ImportEngines.message("m1@example.org"),
                                                      into: .client(ImportEngines.identity(1)))
        let thread = try #require(outcome.storedThread)
        let actor = InboxActor(account: AccountID.makeRandom(), channel: .browser, scope: .everyField)
        func open() async throws -> InboxThreadView {
            try await threads.openThread(thread, page: MessagePageRequest(), by: actor, event: .threadViewed)
        }
        // The first preparation on the pool's one connection fails while a column is missing (a schema changed
        // under a running node)…
        func rename(_ from: String, _ to: String) throws {
            _ = try database.server.psql("ALTER TABLE thread_key RENAME COLUMN \(from) TO \(to)",
                                         database: database.name)
        }
        try rename("wrapped_key", "wrapped_key_moved")
        await #expect(throws: (any Error).self) { _ = try await open() }
        try rename("wrapped_key_moved", "wrapped_key")
        // …and works again once it is back.
        for _ in 0..<3 { #expect(try await open().messages.count == 1) }
    }
}
