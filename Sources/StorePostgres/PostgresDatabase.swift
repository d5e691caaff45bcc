// Security: the store's transactions on PostgreSQL. Connections come from postgres-nio's pool with the endpoint's
// TLS and password (PostgresConnector); statements bind every value as an argument; errors carry SQLSTATE codes,
// never arguments or rows. Nothing is logged above debug level.

public import Logging
import NIOCore
import PostgresNIO
import _ConnectionPoolModule

/// A pool of connections to one PostgreSQL database (postgres-nio's `PostgresClient`) and the two kinds of
/// transaction the store runs on it (docs/postgresql.md, "The engine-neutral seam").
///
/// - ``write(_:)``: `SERIALIZABLE`. Where SQLite's single writer made a read-then-write safe, PostgreSQL's
///   serializable isolation does: of two transactions (on any nodes) that would not have given the same result
///   one after the other, one fails with `serialization_failure` (40001); it is rolled back and run again, up to
///   ``maximumAttempts`` times, with a short random pause. The body must therefore be safe to run again: it may
///   only act on the database through its connection (no mail sent, no counters kept outside).
/// - ``read(_:)``: `REPEATABLE READ READ ONLY`, one consistent snapshot for several statements.
///
/// ```swift
/// let database = try PostgresDatabase(endpoint, logger: logger)
/// async let running: Void = database.run()          // or add it to the gateway's ServiceGroup
/// let fresh = try await database.write { connection in
///     try await connection.query("UPDATE … RETURNING …", logger: logger)…
/// }
/// ```
public final class PostgresDatabase: Sendable {
    /// How often a write is tried before its serialization failure is thrown.
    public static let maximumAttempts = 12
    let client: PostgresClient
    let logger: Logger

    /// A pool for `endpoint` of at most `maximumConnections` connections, keeping at least `minimumConnections`
    /// open (a running gateway node keeps one, so that ``PostgresMasterKeyRotation`` always sees it). Nothing
    /// connects before ``run()``.
    public init(_ endpoint: PostgresEndpoint, maximumConnections: Int = 8, minimumConnections: Int = 0,
                logger: Logger) throws(PostgresProblem) {
        let password = try PostgresConnector.password(from: endpoint.passwordFile)
        let tls: PostgresClient.Configuration.TLS = try PostgresConnector.tlsSettings(endpoint).map { .require($0) }
            ?? .disable
        var configuration = PostgresClient.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.user, password: password,
            database: endpoint.database, tls: tls)
        configuration.options.connectTimeout = .seconds(Int64(endpoint.connectTimeoutSeconds))
        configuration.options.maximumConnections = max(1, maximumConnections)
        configuration.options.minimumConnections = min(max(0, minimumConnections), configuration.options.maximumConnections)
        configuration.options.additionalStartupParameters = [("application_name", endpoint.applicationName)]
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the pool until the task is cancelled (or, in a `ServiceGroup`, until graceful shutdown). Call it once.
    public func run() async { await client.run() }

    /// Runs the pool (``run()``) in a task of its own and returns the task once it began: postgres-nio warns when a
    /// connection is asked for before `run()`. Cancel the task and await it to stop the pool.
    public func start() async -> Task<Void, Never> {
        let (began, beginning) = AsyncStream<Void>.makeStream()
        let pool = Task {
            beginning.finish()
            await run()
        }
        for await _ in began {}
        return pool
    }

    /// Runs `body` in a `SERIALIZABLE` transaction and commits; rolls back when `body` throws. Runs it again after
    /// a serialization failure or deadlock (SQLSTATE 40001, 40P01).
    func write<Result: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await transaction("BEGIN ISOLATION LEVEL SERIALIZABLE", body)
    }

    /// Runs `body` in a read-only snapshot (`REPEATABLE READ READ ONLY`).
    func read<Result: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    private func transaction<Result: Sendable>(
        _ begin: PostgresQuery, _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        var attempt = 1
        while true {
            do {
                return try await client.withConnection { connection in
                    try await PostgresTransaction.run(connection, begin: begin, logger: logger, body)
                }
            } catch where Self.isRetryable(error) && attempt < Self.maximumAttempts {
                logger.debug("store transaction retried", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(2 << min(attempt, 6)))))
                attempt += 1
            }
        }
    }

    /// Whether `error` says the database cannot be reached now (the pool cannot connect, or a connection broke),
    /// rather than anything about the work: the work may be tried again later, unchanged.
    public static func isUnavailable(_ error: any Error) -> Bool {
        if error is ConnectionPoolError { return true }
        if let problem = error as? PostgresProblem {
            if case .unreachable = problem { return true }
            if case .connectionFailed = problem { return true }
            return false
        }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown: return true
        default: return false
        }
    }

    /// Serialization failure (40001) or deadlock (40P01): PostgreSQL's "run it again" (Appendix A; "Serialization
    /// Failure Handling" in the manual).
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, error.code == .server else { return false }
        return ["40001", "40P01"].contains(error.serverInfo?[.sqlState])
    }
}
