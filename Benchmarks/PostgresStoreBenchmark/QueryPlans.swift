// The plans of the statements the counsellor inbox runs, as PostgreSQL executed them: auto_explain (a module
// of PostgreSQL's own) with `log_analyze` and every statement's duration for the benchmark role's new connections,
// one list page 1, one list page 10 and one thread open through the store's API on a pool of one connection, then
// the plans from the server's log.
// The same statements, bound the same way, as the measured calls (no SQL copied here).

import Foundation
import Logging
import StorePostgres
import TestSupport
import ThreadStore

enum QueryPlans {
    /// Runs `calls` on a fresh pool of one connection with auto_explain on, returns the server log it wrote.
    static func explain(_ database: BenchmarkDatabase, masterKey: MasterKey, logger: Logger,
                        _ calls: (PostgresThreads) async throws -> Void) async throws -> String {
        let role = database.database.user
        for setting in [
            "session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = 0",
            "auto_explain.log_analyze = on", "auto_explain.log_buffers = on", "auto_explain.log_timing = on",
            // Every statement's server time, BEGIN and COMMIT included, each line stamped to the millisecond: the
            // round trips of a call and where its time goes (the gaps are the client's and the loopback's).
            "log_min_duration_statement = 0",
        ] {
            try database.psql("ALTER ROLE \(role) SET \(setting)")
        }
        defer { _ = try? database.psql("ALTER ROLE \(role) RESET ALL") }
        let log = database.server.root.appending(path: "server.log")
        let offset = (try FileManager.default.attributesOfItem(atPath: log.path)[.size] as? NSNumber)?.intValue ?? 0
        let pool = try PostgresDatabase(database.endpoint, maximumConnections: 1, logger: logger)
        let running = Task { await pool.run() }
        defer { running.cancel() }
        let threads = try await PostgresThreads.open(pool, masterKey: masterKey, logger: logger)
        try await calls(threads)
        try await Task.sleep(for: .milliseconds(500))  // the server's logger writes asynchronously
        let handle = try FileHandle(forReadingFrom: log)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
    }
}
