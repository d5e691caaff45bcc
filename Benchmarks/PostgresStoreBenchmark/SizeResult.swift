// One size of the benchmark: a fresh database filled with `messages` messages, and the web inbox's calls on it
// (list page 1, list page 10 by keyset paging, open a thread) timed over 200 calls each, as ThreadStoreBenchmark
// times them on SQLite; then 100 durable single imports. The database stays open for the rounds (main.swift).

import BenchmarkRounds
import Foundation
import Logging
import StorePostgres
import TestSupport
import ThreadStore

struct SizeResult {
    /// The web inbox's page (InboxRoutes): 50 threads and one more to tell whether there is a next page.
    static let pageSize = 50
    static let order = InboxOrder.waitingFirst  // the web inbox's default (issue 22)
    let messages: Int
    let database: BenchmarkDatabase
    let threads: PostgresThreads
    let scope: InboxScope
    let actor: InboxActor
    var fill = FillTimes(total: 0)
    /// The cursor after page 9 (fetched once, outside the timing).
    var cursor: InboxCursor?
    /// The threads of page 1, opened in turn.
    var sample: [ThreadID] = []
    var listFirstPage = 0.0
    var listDeepPage = 0.0
    var openThread = 0.0
    var singleImport = 0.0
    var databaseBytes = 0

    /// A page of the web inbox's list for a counsellor of the first field.
    func list(_ threads: PostgresThreads, after cursor: InboxCursor?) async throws -> [InboxThread] {
        try await threads.listInbox(scope: scope, state: nil, assignment: nil, order: Self.order,
                                    limit: Self.pageSize + 1, after: cursor)
    }

    /// The web inbox's thread page: the newest messages, audited as viewed.
    func open(_ threads: PostgresThreads, _ id: ThreadID) async throws -> InboxThreadView {
        try await threads.openThread(id, page: MessagePageRequest(), by: actor, event: .threadViewed)
    }

    func listFirst() async throws { _ = try await list(threads, after: nil) }
    func listDeep() async throws { _ = try await list(threads, after: cursor) }
    func openOne(_ round: Int) async throws { _ = try await open(threads, sample[round % sample.count]) }

    static func measure(messages count: Int, method: FillMethod, lanes: Int, server: PostgresServer,
                        masterKey: MasterKey, scratch: URL, logger: Logger) async throws -> SizeResult {
        let messages = try BenchmarkMessages(count: count)
        let database = try await BenchmarkDatabase.make(on: server, logger: logger)
        let fill: FillTimes
        let threads: PostgresThreads
        switch method {
        case .import:
            threads = try await PostgresThreads.open(database.pool, masterKey: masterKey, logger: logger)
            fill = try await Fill.byImport(threads, messages, lanes: lanes)
        case .migrate:
            let folder = scratch.appending(path: UUID().uuidString)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            fill = try await Fill.byMigration(into: database.pool, masterKey: masterKey, messages, folder: folder,
                                              logger: logger)
            threads = try await PostgresThreads.open(database.pool, masterKey: masterKey, logger: logger)
        }
        // Statistics and the visibility map, as autovacuum would leave them some time after a bulk load.
        try database.psql("VACUUM (ANALYZE)")

        let field = messages.fields[0]
        var result = SizeResult(
            messages: count, database: database, threads: threads, scope: InboxScope(fields: [field]),
            actor: InboxActor(account: try AccountID(String(repeating: "ab", count: 16)), channel: .browser,
                              scope: InboxScope(fields: [field])))
        result.fill = fill

        let rounds = 200
        result.listFirstPage = try await elapsedSeconds {
            for _ in 0..<rounds { try await result.listFirst() }
        } / Double(rounds)
        var page = try await result.list(threads, after: nil)
        for _ in 0..<8 {
            guard page.count > pageSize else { break }
            page = try await result.list(threads, after: InboxCursor(after: page[pageSize - 1], order: order))
        }
        result.cursor = page.count > pageSize ? InboxCursor(after: page[pageSize - 1], order: order) : nil
        result.listDeepPage = try await elapsedSeconds {
            for _ in 0..<rounds { try await result.listDeep() }
        } / Double(rounds)
        result.sample = try await result.list(threads, after: nil).prefix(pageSize).map(\.id)
        result.openThread = try await elapsedSeconds {
            for round in 0..<rounds {
                let view = try await result.open(threads, result.sample[round % result.sample.count])
                precondition(view.messages.count == BenchmarkMessages.perThread || count % 10 != 0)
            }
        } / Double(rounds)

        // Durable single imports (one transaction each, as the SMTP path does before answering 250).
        let singles = 100
        result.singleImport = try await elapsedSeconds {
            for number in 0..<singles {
                let identity = try messages.identity(messages.clients + number, address: "single\(number)@example.org")
                let message = messages.message(count + number, prefix: "single") { threads.replayFingerprint($0, $1) }
                _ = try await threads.importMessage(message, into: .client(identity), queueing: [])
            }
        } / Double(singles)
        result.databaseBytes = try database.sizeOnDisk()
        return result
    }
}
