import Logging
import PostgresNIO

/// `BEGIN` … `COMMIT` on one connection, `ROLLBACK` when the body throws; the body's own error is rethrown as it
/// is (postgres-nio's `withTransaction` wraps it), so callers can tell a ``PostgresProblem`` from a server error.
enum PostgresTransaction {
    static func run<Result: Sendable>(
        _ connection: PostgresConnection, begin: PostgresQuery = "BEGIN", logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await connection.query(begin, logger: logger)
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
        try await connection.query("COMMIT", logger: logger)
        return result
    }
}
