// Security: the PostgreSQL engine's entry points. See PostgresConnector.swift for TLS and the password,
// PostgresSchema.swift for what is stored in clear, PostgresPrivileges.swift for what the gateway's role may do.

public import Logging
import PostgresNIO

/// The PostgreSQL store engine (issue 21): checking an endpoint and opening (migrating) its database.
///
/// ```swift
/// switch await PostgresStore.check(endpoint, logger: logger) {
/// case .success(let status): print(status)        // "schema version 2, current"
/// case .failure(let problem): print(problem)      // "PostgreSQL refused the user mailbridge: …"
/// }
/// // Two roles (docs/postgresql.md): the owner migrates and grants, the gateway's role only opens.
/// _ = try await PostgresStore.migrateSchema(owner: ownerEndpoint, gatewayRole: "mailbridge", logger: logger)
/// let store = try await PostgresStore.open(endpoint, logger: logger)   // migrates only if its role owns the schema
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

    /// Connects and makes sure the schema is this binary's. When it is older (or absent), the configured role
    /// migrates it if it may (it owns the schema: the one-role set-up), once per database under an advisory lock;
    /// a role that does not own the schema (the two-role set-up, docs/postgresql.md "Two roles") gets
    /// ``PostgresProblem/schemaNeedsMigration(found:supported:user:)`` instead, naming the command that migrates.
    /// Throws a ``PostgresProblem``.
    public static func open(_ endpoint: PostgresEndpoint, logger: Logger) async throws(PostgresProblem)
        -> PostgresStore
    {
        do {
            try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
                let found: Int
                switch try await PostgresMigrator.status(connection, logger: logger) {
                case .current: return
                case .empty: found = 0
                case .behind(let version, _): found = version
                }
                guard try await PostgresMigrator.mayMigrate(connection, logger: logger) else {
                    throw PostgresProblem.schemaNeedsMigration(
                        found: found, supported: PostgresSchema.latestVersion, user: endpoint.user)
                }
                _ = try await PostgresMigrator.migrate(connection, logger: logger)
            }
        } catch {
            throw PostgresConnector.problem(for: error, endpoint: endpoint)
        }
        return PostgresStore(endpoint: endpoint, logger: logger)
    }

    /// `mailbridge store migrate-schema`: connects as the schema's owner (`owner`, the configuration's
    /// `migration-user`), brings the schema up to date under the advisory lock and, in the same transaction, gives
    /// `gatewayRole` exactly the rights the gateway needs (``PostgresPrivileges``). Safe to run again and from
    /// several machines at once: a second run applies no version and grants the same rights.
    public static func migrateSchema(owner: PostgresEndpoint, gatewayRole: String, logger: Logger)
        async throws(PostgresProblem) -> PostgresMigrationReport
    {
        do {
            let outcome = try await PostgresConnector.withConnection(owner, logger: logger) { connection in
                try await PostgresMigrator.migrate(connection, logger: logger, grantingTo: gatewayRole)
            }
            return PostgresMigrationReport(applied: outcome.applied, version: outcome.version)
        } catch {
            throw PostgresConnector.problem(for: error, endpoint: owner)
        }
    }

    /// What `check-config` reports about the rights of `endpoint`'s role: owning the schema, being able to create
    /// tables, lacking or exceeding rights (``PostgresPrivilegeFinding``). Meaningful on a current schema only.
    public static func privileges(_ endpoint: PostgresEndpoint, logger: Logger) async
        -> Result<[PostgresPrivilegeFinding], PostgresProblem>
    {
        do {
            return .success(try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
                try await PostgresPrivileges.findings(connection, logger: logger)
            })
        } catch {
            return .failure(PostgresConnector.problem(for: error, endpoint: endpoint))
        }
    }
}

/// What `mailbridge store migrate-schema` did: the versions it applied (empty when the schema was current) and
/// the version now in place.
public struct PostgresMigrationReport: Sendable, Equatable {
    public var applied: [Int]
    public var version: Int
}

extension PostgresStore {
    /// The tables whose deleted rows must not linger: `thread_key` (a deleted thread's wrapped data key, the one
    /// value whose copies decide whether the thread is shredded) and the shared inbound spool (accepted messages,
    /// plain mail included, sealed under the master key). All three are small: one row per thread, and only the
    /// messages waiting now.
    public static let compactedTables = ["thread_key", "inbound_spool", "inbound_spool_piece"]

    /// Above this size (with indexes and TOAST) a spool table is not compacted in this run: it holds a backlog.
    static let maximumSpoolBytes: Int64 = 64 << 20

    /// Runs `VACUUM (FULL)` on ``compactedTables`` as `owner` (the schema's owner: `VACUUM` needs the table's
    /// owner): each table is written into a new file and the old one emptied, so the octets of deleted rows are
    /// no longer in any heap file after the next checkpoint (docs/postgresql.md, "Deleting a thread on
    /// PostgreSQL"). Each table is locked while its rewrite runs (milliseconds for tables this small; a lock not
    /// granted within 5 s fails the command rather than stall the nodes); a spool table over 64 MiB (a backlog) is
    /// left for a later run. Returns the tables compacted.
    /// - Throws: ``PostgresProblem`` (``PostgresProblem/notSchemaOwner(user:)`` when `owner` does not own them).
    public static func compactSealedTables(owner: PostgresEndpoint, logger: Logger)
        async throws(PostgresProblem) -> [String]
    {
        do {
            return try await PostgresConnector.withConnection(owner, logger: logger) { connection in
                // VACUUM skips, with only a warning, a table its role does not own: refuse that first.
                let owned = try await connection.query("""
                    SELECT count(*) FROM pg_class
                    WHERE oid = ANY(ARRAY[to_regclass('thread_key'), to_regclass('inbound_spool'),
                                          to_regclass('inbound_spool_piece')]) AND pg_has_role(relowner, 'USAGE')
                    """, logger: logger)
                var count = 0
                for try await value in owned.decode(Int.self) { count = value }
                guard count == compactedTables.count else { throw PostgresProblem.notSchemaOwner(user: owner.user) }
                // Waiting for a lock behind a long transaction would stop every node's `250` queued behind it.
                try await connection.query("SET lock_timeout = '5s'", logger: logger)
                var compacted: [String] = []
                for table in compactedTables {
                    // A spool holding a backlog (a GnuPG outage) would be copied whole under the lock: left for a
                    // later run, when the backlog is processed.
                    if table != "thread_key" {
                        let sizes = try await connection.query(
                            "SELECT pg_total_relation_size(\(table)::regclass)", logger: logger)
                        var size: Int64 = 0
                        for try await value in sizes.decode(Int64.self) { size = value }
                        if size > maximumSpoolBytes { continue }
                    }
                    try await connection.query("VACUUM (FULL) \(unescaped: table)", logger: logger)
                    compacted.append(table)
                }
                return compacted
            }
        } catch {
            throw PostgresConnector.problem(for: error, endpoint: owner)
        }
    }
}
