// Two ways to fill the benchmark's PostgreSQL store with the same messages, both sealing every row with the
// store's own code (StoreSecrets) under the run's master key:
// - `import`: the ingest path, `PostgresThreads.importMessage` (one SERIALIZABLE transaction per message, as the
//   pipeline stores a message before its 250), in `lanes` concurrent lanes; lane k takes the messages k, k + lanes,
//   … so that one thread's messages stay in one lane when `lanes` divides the number of clients. About 110
//   messages/s on this machine with one lane (each commit waits for the WAL flush); with 4 lanes on a small store
//   an import failed to serialize 12 times in a row and the run stopped (2026-12-06), so the default is one lane.
// - `migrate`: `mailbridge store migrate --to postgresql`'s path: a SQLite ThreadStore filled as ThreadStoreBenchmark
//   fills it (500 imports per transaction), then `SQLiteToPostgres.migrate` (one transaction, rows copied as
//   stored, read back and compared digest by digest).

import BenchmarkRounds
import Foundation
import Logging
import StorePostgres
import ThreadStore

enum FillMethod: String, CaseIterable {
    case `import`, migrate
}

/// How long a fill took, in seconds, in its steps.
struct FillTimes {
    var total: Double
    /// `migrate` only: filling the SQLite store, then copying it.
    var sqlite: Double?
    var copy: Double?
}

enum Fill {
    static func byImport(_ threads: PostgresThreads, _ messages: BenchmarkMessages, lanes: Int) async throws
        -> FillTimes
    {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var number = lane
                    while number < messages.count {
                        let message = messages.message(number) { threads.replayFingerprint($0, $1) }
                        let identity = try messages.identity(number % messages.clients)
                        let outcome = try await threads.importMessage(message, into: .client(identity), queueing: [])
                        guard case .stored = outcome else { fatalError("message \(number) not stored: \(outcome)") }
                        if lane == 0, number > 0, number % 50_000 < lanes { progress(number, since: start) }
                        number += lanes
                    }
                }
            }
            try await group.waitForAll()
        }
        return FillTimes(total: seconds(since: start))
    }

    static func byMigration(into pool: PostgresDatabase, masterKey: MasterKey, _ messages: BenchmarkMessages,
                            folder: URL, logger: Logger) async throws -> FillTimes {
        let start = ContinuousClock.now
        let store = try ThreadStore(at: folder.appending(path: "bench.sqlite"), masterKey: masterKey)
        let batch = 500
        var index = 0
        while index < messages.count {
            let range = index..<min(messages.count, index + batch)
            try await store.write { tx in
                for number in range {
                    let message = messages.message(number) { store.replayFingerprint($0, $1) }
                    _ = try tx.importMessage(message, into: .client(try messages.identity(number % messages.clients)))
                }
            }
            if range.upperBound % 100_000 == 0 { progress(range.upperBound, since: start) }
            index = range.upperBound
        }
        let filled = seconds(since: start)
        let copyStart = ContinuousClock.now
        let report = try await SQLiteToPostgres.migrate(store, into: pool, logger: logger)
        let copied = seconds(since: copyStart)
        FileHandle.standardError.write(Data("   migrated: \(report)\n".utf8))
        return FillTimes(total: filled + copied, sqlite: filled, copy: copied)
    }

    static func progress(_ done: Int, since start: ContinuousClock.Instant) {
        let elapsed = seconds(since: start)
        FileHandle.standardError.write(Data(String(
            format: "   %d messages in %.0f s (%.0f/s)\n", done, elapsed, Double(done) / elapsed).utf8))
    }
}
