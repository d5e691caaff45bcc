import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport

@testable import StorePostgres

/// Least privilege on PostgreSQL (issue 21, docs/postgresql.md "Two roles"), on the real private server: the schema
/// belongs to the owner role that migrates it; the gateway's role has row rights only, so it can neither drop nor
/// disable the audit log's trigger, nor change or delete audit rows except through `audit_prune` (schema version 4),
/// nor create anything. What the gateway does (web state, outbox) runs under that role in the conformance suites
/// (engine "postgresql-gateway-role").
@Suite struct PostgresLeastPrivilegeTests {
    let logger = PostgresTesting.logger
    static let insufficientPrivilege = "42501"
    static let day: Int64 = 86_400_000

    private func count(_ sql: String, _ roles: TwoRoles) throws -> String {
        try roles.database.server.psql(sql, database: roles.database.name)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theGatewayRoleCanNeitherTouchTheSchemaNorRewriteTheAuditLog() async throws {
        let roles = try await PostgresTesting.twoRoles()
        try await PostgresConnector.withConnection(roles.gateway, logger: logger) { connection in
            try await connection.query(
                "INSERT INTO audit (at, event, thread_id) VALUES (1, 7, \(String(repeating: "a", count: 32)))",
                logger: logger)
            let statements = [
                "UPDATE audit SET event = 8", "DELETE FROM audit", "TRUNCATE audit",
                "DROP TRIGGER audit_no_update_or_delete ON audit",
                "ALTER TABLE audit DISABLE TRIGGER audit_no_update_or_delete", "ALTER TABLE audit DISABLE TRIGGER ALL",
                "DROP TABLE audit", "ALTER TABLE audit RENAME TO audit_old",
                "DROP FUNCTION audit_append_only() CASCADE",
                "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql "
                    + "AS $$ BEGIN RETURN OLD; END $$",
                "ALTER FUNCTION audit_prune(BIGINT) SECURITY INVOKER",
                "UPDATE audit_prune_gate SET open = TRUE", "SELECT open FROM audit_prune_gate",
                // Replica mode skips ordinary triggers; only a superuser may set it.
                "SET session_replication_role = replica",
                "CREATE TABLE scratch (id INTEGER)",
                "CREATE FUNCTION scratch() RETURNS INTEGER LANGUAGE sql AS 'SELECT 1'",
                "ALTER TABLE thread ADD COLUMN note TEXT", "CREATE INDEX scratch ON thread(field)",
            ]
            for statement in statements {
                let error = await #expect(throws: PSQLError.self, "\(statement)") {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                #expect(error?.serverInfo?[.sqlState] == Self.insufficientPrivilege, "\(statement)")
            }
            let rows = try await connection.query("SELECT count(*), min(event) FROM audit", logger: logger)
            for try await (count, event) in rows.decode((Int, Int).self) {
                #expect(count == 1)
                #expect(event == 7)
            }
        }
        // Both triggers are still there and enabled ('O': fires in origin mode).
        #expect(try count("""
            SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit'::regclass AND tgenabled = 'O'
                AND tgname IN ('audit_no_update_or_delete', 'audit_no_truncate')
            """, roles) == "2")
        #expect(try count("SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'", roles) == "0")
    }

    @Test func retentionPrunesOnlyThroughTheFunctionAndOnlyEntriesOlderThanAYear() async throws {
        let roles = try await PostgresTesting.twoRoles()
        let now = Date().storeMilliseconds
        try await PostgresConnector.withConnection(roles.gateway, logger: logger) { connection in
            try await connection.query("""
                INSERT INTO audit (at, event) VALUES (1, 7), (\(now - 400 * Self.day), 7), (\(now - 10 * Self.day), 7),
                                                     (\(now), 7)
                """, logger: logger)
            // A cutoff younger than the minimum is refused, and nothing is deleted.
            let young = await #expect(throws: PSQLError.self) {
                // The server's error arrives with the rows.
                let rows = try await connection.query("SELECT audit_prune(\(now - 364 * Self.day))", logger: logger)
                for try await _ in rows {}
            }
            #expect(young?.serverInfo?[.sqlState] == "MBA02")
            let pruned = try await PostgresTransaction.run(connection, logger: logger) { connection in
                let rows = try await connection.query("SELECT audit_prune(\(now - 366 * Self.day))", logger: logger)
                var removed = -1
                for try await count in rows.decode(Int.self) { removed = count }
                return removed
            }
            #expect(pruned == 2)
        }
        #expect(try count("SELECT count(*) FROM audit", roles) == "2")
        #expect(try count("SELECT open FROM audit_prune_gate", roles) == "f")
        // The function's search path is pinned (the caller's temporary tables come last).
        #expect(try count("SELECT array_to_string(proconfig, ';') FROM pg_proc WHERE proname = 'audit_prune'", roles)
            == "search_path=public, pg_temp")
        // A role that was not granted EXECUTE (PUBLIC's right is revoked) may not call it.
        let stranger = try await roles.database.server.makeRole("mb_stranger")
        var strangerEndpoint = roles.gateway
        strangerEndpoint.user = stranger.user
        strangerEndpoint.passwordFile = stranger.passwordFile.path
        try await PostgresConnector.withConnection(strangerEndpoint, logger: logger) { connection in
            let error = await #expect(throws: PSQLError.self) {
                for try await _ in try await connection.query("SELECT audit_prune(1)", logger: logger) {}
            }
            #expect(error?.serverInfo?[.sqlState] == Self.insufficientPrivilege)
        }
    }

    /// Every table of the schema has an entry in ``PostgresPrivileges/tables`` (a new table without one would give
    /// the gateway no rights), and the gateway holds exactly those rights.
    @Test func theGatewayHoldsExactlyTheListedRights() async throws {
        let roles = try await PostgresTesting.twoRoles()
        let tables = try count(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'", roles)
        #expect(Set(tables.split(separator: ",").map(String.init)) == Set(PostgresPrivileges.tables.keys))
        let held = try count("""
            SELECT string_agg(table_name || ':' || privilege_type, ',' ORDER BY table_name, privilege_type)
            FROM information_schema.role_table_grants WHERE grantee = '\(roles.role.user)'
            """, roles)
        let expected = PostgresPrivileges.tables.flatMap { table, rights in rights.map { "\(table):\($0)" } }
        #expect(Set(held.split(separator: ",").map(String.init)) == Set(expected))
        #expect(try await PostgresStore.privileges(roles.gateway, logger: logger) == .success([]))
        // The owner is told it owns the schema (and may create in it).
        let owner = try await PostgresStore.privileges(roles.owner, logger: logger)
        #expect(owner == .success([.ownsSchema, .mayCreateTables]))
    }

    @Test func missingAndExcessRightsAreFound() async throws {
        let roles = try await PostgresTesting.twoRoles()
        let role = roles.role.user
        _ = try roles.database.server.psql("REVOKE INSERT ON audit FROM \(role); GRANT DELETE ON audit TO \(role)",
                                           database: roles.database.name)
        let findings = try await PostgresStore.privileges(roles.gateway, logger: logger).get()
        #expect(Set(findings) == [.missingRight(table: "audit", right: "INSERT"),
                                  .excessRight(table: "audit", right: "DELETE")])
        #expect(findings.filter(\.isProblem) == [.missingRight(table: "audit", right: "INSERT")])
        // Running the migration again restores exactly the listed rights.
        let again = try await PostgresStore.migrateSchema(owner: roles.owner, gatewayRole: role, logger: logger)
        #expect(again == PostgresMigrationReport(applied: [], version: PostgresSchema.latestVersion))
        #expect(try await PostgresStore.privileges(roles.gateway, logger: logger) == .success([]))
    }

    /// The gateway's role migrates nothing: on an empty or older schema it is told to run the owner's command.
    @Test func theGatewayRoleRefusesASchemaItMayNotMigrate() async throws {
        let roles = try await PostgresTesting.twoRoles(migrate: false)
        let latest = PostgresSchema.latestVersion
        await #expect(throws: PostgresProblem.schemaNeedsMigration(found: 0, supported: latest,
                                                                   user: roles.role.user)) {
            _ = try await PostgresStore.open(roles.gateway, logger: logger)
        }
        // The owner migrates to version 3 only (an older binary), granting what existed then.
        _ = try await PostgresConnector.withConnection(roles.owner, logger: logger) { connection in
            try await PostgresMigrator.migrate(connection, logger: logger,
                                               migrations: Array(PostgresSchema.migrations.prefix(3)),
                                               grantingTo: roles.role.user)
        }
        let error = await #expect(throws: PostgresProblem.self) {
            _ = try await PostgresStore.open(roles.gateway, logger: logger)
        }
        #expect(error == .schemaNeedsMigration(found: 3, supported: latest, user: roles.role.user))
        #expect(error?.description.contains("mailbridge store migrate-schema") == true)
        #expect(try count("SELECT max(version) FROM mailbridge_schema", roles) == "3")
        let report = try await PostgresStore.migrateSchema(owner: roles.owner, gatewayRole: roles.role.user,
                                                           logger: logger)
        #expect(report.applied == Array(4...latest))
        _ = try await PostgresStore.open(roles.gateway, logger: logger)
        await #expect(throws: PostgresProblem.roleMissing(role: "mb_nobody")) {
            _ = try await PostgresStore.migrateSchema(owner: roles.owner, gatewayRole: "mb_nobody", logger: logger)
        }
    }

    /// Two machines run the owner's migration at the same moment while a third session holds the advisory lock:
    /// both wait, exactly one applies the versions, both grant, and the gateway holds exactly its rights.
    @Test func twoOwnersMigratingAtOnceMigrateOnce() async throws {
        let roles = try await PostgresTesting.twoRoles(migrate: false)
        let holder = try await PostgresConnector.connect(roles.owner, logger: logger)
        try await holder.query("SELECT pg_advisory_lock(\(PostgresMigrator.lockKey))", logger: logger)
        async let a = PostgresStore.migrateSchema(owner: roles.owner, gatewayRole: roles.role.user, logger: logger)
        async let b = PostgresStore.migrateSchema(owner: roles.owner, gatewayRole: roles.role.user, logger: logger)
        let deadline = Date().addingTimeInterval(20)
        while try count("""
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, roles) != "2" {
            guard Date() < deadline else { throw PostgresServerFailure("the migrations did not wait for the lock") }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await holder.query("SELECT pg_advisory_unlock(\(PostgresMigrator.lockKey))", logger: logger)
        let reports = try await [a, b]
        try await holder.close()
        #expect(reports.map(\.applied).sorted { $0.count < $1.count }
            == [[], PostgresSchema.migrations.map(\.version)])
        #expect(try count("SELECT count(*) FROM mailbridge_schema", roles) == "\(PostgresSchema.migrations.count)")
        #expect(try await PostgresStore.privileges(roles.gateway, logger: logger) == .success([]))
        _ = try await PostgresStore.open(roles.gateway, logger: logger)
    }

    @Test func roleNamesAreQuotedAsIdentifiers() {
        #expect(PostgresPrivileges.quoted("mailbridge") == "\"mailbridge\"")
        #expect(PostgresPrivileges.quoted("a\"; DROP TABLE audit; --") == "\"a\"\"; DROP TABLE audit; --\"")
        #expect(PostgresPrivileges.grantStatements(to: "gw", schema: "public").contains(
            "GRANT SELECT, INSERT ON audit TO \"gw\""))
    }
}
