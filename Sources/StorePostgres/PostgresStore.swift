// Security: the PostgreSQL engine's entry points. See PostgresConnector.swift for TLS and the password,
// PostgresSchema.swift for what is stored in clear.

public import Logging

/// The PostgreSQL store engine (issue 21): checking an endpoint and opening (migrating) its database.
///
/// ```swift
/// switch await PostgresStore.check(endpoint, logger: logger) {
/// case .success(let status): print(status)        // "schema version 2, current"
/// case .failure(let problem): print(problem)      // "PostgreSQL refused the user mailbridge: …"
/// }
/// let store = try await PostgresStore.open(endpoint, logger: logger)   // migrates under an advisory lock
/// ```
///
/// Not yet here: the ThreadStore transactions on PostgreSQL (see docs/postgresql.md). Each call opens its own
/// connection; a pool (postgres-nio's `PostgresClient`) comes with the transactions.
public struct PostgresStore: Sendable {
    public let endpoint: PostgresEndpoint
    let logger: Logger

    /// The schema version this binary knows.
    public static var schemaVersion: Int { PostgresSchema.latestVersion }

    /// Connects to `endpoint` and reports the schema's state, or what prevents using it: unreachable, TLS,
    /// authentication, missing database, a schema newer than this binary.
    public static func check(_ endpoint: PostgresEndpoint, logger: Logger) async
        -> Result<PostgresSchemaStatus, PostgresProblem>
    {
        do {
            let status = try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
                try await PostgresMigrator.status(connection, logger: logger)
            }
            return .success(status)
        } catch {
            return .failure(PostgresConnector.problem(for: error, endpoint: endpoint))
        }
    }

    /// Connects and brings the schema up to date (once per database, under an advisory lock). Throws a
    /// ``PostgresProblem``.
    public static func open(_ endpoint: PostgresEndpoint, logger: Logger) async throws(PostgresProblem)
        -> PostgresStore
    {
        do {
            _ = try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
                try await PostgresMigrator.migrate(connection, logger: logger)
            }
        } catch {
            throw PostgresConnector.problem(for: error, endpoint: endpoint)
        }
        return PostgresStore(endpoint: endpoint, logger: logger)
    }
}
