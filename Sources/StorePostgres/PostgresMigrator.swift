// Security: runs the schema's DDL. Only this binary's own statements are executed; nothing from outside is
// interpolated into SQL.

import Logging
import PostgresNIO

/// Brings a database to ``PostgresSchema/latestVersion``, once per database whichever node starts first.
///
/// All of it runs in one transaction holding `pg_advisory_xact_lock(lockKey)`: a second node that starts at the
/// same moment waits for the lock, then finds every version recorded and applies nothing. PostgreSQL's DDL is
/// transactional, so a node that dies mid-migration leaves the database as it was. A database whose recorded
/// schema is newer than this binary (an upgraded node migrated it) is refused before anything is changed.
enum PostgresMigrator {
    /// The advisory lock's key: "MailBrdg" in ASCII. Any other program using the same key would only wait.
    static let lockKey: Int64 = 0x4D61_696C_4272_6467

    /// The versions this run applied (empty when another node had done it) and the version now in place.
    struct Outcome: Sendable, Equatable {
        var applied: [Int]
        var version: Int
    }

    /// Applies the pending `migrations` (see the type's description) and returns what it did.
    ///
    /// `grantingTo`: the gateway's role, when it is not the connected (owner) role. In the same transaction, after
    /// the migrations, it is given exactly ``PostgresPrivileges``' rights (docs/postgresql.md, "Two roles").
    static func migrate(
        _ connection: PostgresConnection, logger: Logger,
        migrations: [PostgresMigration] = PostgresSchema.migrations, grantingTo gatewayRole: String? = nil
    ) async throws -> Outcome {
        try await PostgresTransaction.run(connection, logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS mailbridge_schema (
                    version INTEGER PRIMARY KEY CHECK (version >= 1),
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: logger)
            let recorded = try await recordedVersions(connection, logger: logger)
            let current = try check(recorded, against: migrations)
            var applied: [Int] = []
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO mailbridge_schema (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger)
                applied.append(migration.version)
                logger.info("store schema migrated", metadata: ["version": "\(migration.version)"])
            }
            if let gatewayRole { try await grant(to: gatewayRole, on: connection, logger: logger) }
            return Outcome(applied: applied, version: migrations.last?.version ?? current)
        }
    }

    /// The schema's state without changing anything (for `check-config`).
    static func status(_ connection: PostgresConnection, logger: Logger,
                       migrations: [PostgresMigration] = PostgresSchema.migrations) async throws -> PostgresSchemaStatus
    {
        let rows = try await connection.query(
            "SELECT to_regclass('mailbridge_schema') IS NOT NULL", logger: logger)
        var exists = false
        for try await (found) in rows.decode(Bool.self) { exists = found }
        guard exists else { return .empty }
        let current = try check(try await recordedVersions(connection, logger: logger), against: migrations)
        let latest = migrations.last?.version ?? 0
        if current == 0 { return .empty }
        return current == latest ? .current(current) : .behind(found: current, supported: latest)
    }

    /// Grants the gateway's role its rights (after taking every other right on the schema from it), unless it is
    /// the connected role itself (one role owning everything: nothing to grant). An unknown role is a problem.
    private static func grant(to role: String, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("""
            SELECT current_schema(), current_user, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = \(role))
            """, logger: logger)
        var found: (schema: String, user: String, exists: Bool)?
        for try await row in rows.decode((String, String, Bool).self) { found = row }
        guard let found, role != found.user else { return }
        guard found.exists else { throw PostgresProblem.roleMissing(role: role) }
        var present = Set<String>()
        let tables = try await connection.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()", logger: logger)
        for try await table in tables.decode(String.self) { present.insert(table) }
        for function in PostgresPrivileges.functions {
            let rows = try await connection.query("SELECT to_regprocedure(\(function)) IS NOT NULL", logger: logger)
            for try await defined in rows.decode(Bool.self) where defined { present.insert(function) }
        }
        for statement in PostgresPrivileges.grantStatements(to: role, schema: found.schema, present: present) {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        logger.info("store rights granted to the gateway's role", metadata: ["role": "\(role)"])
    }

    /// Whether the connected role may migrate: it owns the schema table (or is a member of its owner's role), or,
    /// in a database without MailBridge schema, may create tables in the current schema.
    static func mayMigrate(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT CASE WHEN to_regclass('mailbridge_schema') IS NULL
                        THEN has_schema_privilege(current_schema(), 'CREATE')
                        ELSE pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass('mailbridge_schema')),
                                         'MEMBER') END
            """, logger: logger)
        var may = false
        for try await answer in rows.decode(Bool.self) { may = answer }
        return may
    }

    private static func recordedVersions(_ connection: PostgresConnection, logger: Logger) async throws
        -> [(Int, String)]
    {
        let rows = try await connection.query(
            "SELECT version, name FROM mailbridge_schema ORDER BY version", logger: logger)
        var recorded: [(Int, String)] = []
        for try await (version, name) in rows.decode((Int, String).self) { recorded.append((version, name)) }
        return recorded
    }

    /// The version the recorded history reaches, after checking it is a prefix of `migrations`.
    private static func check(_ recorded: [(Int, String)], against migrations: [PostgresMigration])
        throws(PostgresProblem) -> Int
    {
        let latest = migrations.last?.version ?? 0
        if let newest = recorded.last?.0, newest > latest {
            throw .schemaNewerThanBinary(found: newest, supported: latest)
        }
        for (index, (version, name)) in recorded.enumerated() {
            guard index < migrations.count, migrations[index].version == version, migrations[index].name == name
            else { throw .schemaMismatch(version: version) }
        }
        return recorded.last?.0 ?? 0
    }
}

/// Where a database's MailBridge schema stands.
public enum PostgresSchemaStatus: Sendable, Equatable, CustomStringConvertible {
    /// No MailBridge schema yet: the first node to start creates it.
    case empty
    /// The schema this binary expects.
    case current(Int)
    /// An older schema: this binary migrates it when it starts.
    case behind(found: Int, supported: Int)

    public var description: String {
        switch self {
        case .empty: return "no MailBridge schema yet (the first node to start creates it)"
        case .current(let version): return "schema version \(version), current"
        case .behind(let found, let supported):
            return "schema version \(found); this binary migrates it to \(supported) when it starts"
        }
    }
}
