// One database of the benchmark's private PostgreSQL server: a fresh database and login role (the one-role
// set-up: the gateway's role owns the schema and migrates it, as `PostgresStore.open` does for a gateway), its pool
// (`PostgresDatabase`, 8 connections, as a gateway node has) running in a task of its own.

import Foundation
import Logging
import StorePostgres
import TestSupport
import ThreadStore

struct BenchmarkDatabase: Sendable {
    let server: PostgresServer
    let database: TestDatabase
    let endpoint: PostgresEndpoint
    let pool: PostgresDatabase
    let running: Task<Void, Never>

    static func make(on server: PostgresServer, logger: Logger) async throws -> BenchmarkDatabase {
        let database = try await server.makeDatabase()
        let endpoint = PostgresEndpoint(
            host: server.host, port: server.port, database: database.name, user: database.user,
            passwordFile: database.passwordFile.path, tls: .disable, caFile: nil, connectTimeoutSeconds: 10)
        _ = try await PostgresStore.open(endpoint, logger: logger)  // migrates the empty schema
        let pool = try PostgresDatabase(endpoint, logger: logger)
        let running = Task { await pool.run() }
        return BenchmarkDatabase(server: server, database: database, endpoint: endpoint, pool: pool,
                                 running: running)
    }

    /// SQL as the superuser on this database (psql), its output trimmed.
    @discardableResult
    func psql(_ sql: String) throws -> String {
        try server.psql(sql, database: database.name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The database's size on disk (tables, indexes, TOAST, free space), in bytes.
    func sizeOnDisk() throws -> Int { Int(try psql("SELECT pg_database_size(current_database())")) ?? 0 }
}

extension BenchmarkDatabase {
    /// A line in the server's log (between the plans of ``QueryPlans``).
    func mark(_ text: String) throws {
        try psql("DO $$ BEGIN RAISE LOG 'benchmark: \(text.replacingOccurrences(of: "'", with: "''"))'; END $$")
    }
}
