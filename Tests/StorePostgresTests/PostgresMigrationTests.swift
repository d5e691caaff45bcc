import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing
import TestSupport

@testable import StorePostgres

/// The PostgreSQL schema and its migrations on a real private server (issue 21).
@Suite struct PostgresMigrationTests {
    let logger = PostgresTesting.logger

    @Test func migratingTwiceAppliesEverythingOnce() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        let first = try await PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresMigrator.migrate($0, logger: logger)
        }
        #expect(first == .init(applied: PostgresSchema.migrations.map(\.version),
                               version: PostgresSchema.latestVersion))
        let second = try await PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresMigrator.migrate($0, logger: logger)
        }
        #expect(second == .init(applied: [], version: PostgresSchema.latestVersion))
        let recorded = try database.server.psql(
            "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM mailbridge_schema",
            database: database.name)
        #expect(recorded.trimmingCharacters(in: .whitespacesAndNewlines)
            == PostgresSchema.migrations.map { "\($0.version):\($0.name)" }.joined(separator: ","))
        // Every table of the SQLite schema exists (and the schema table and the shared login locks).
        let tables = try database.server.psql(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
            database: database.name)
        #expect(Set(tables.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map(String.init)) == [
            "account", "account_field", "api_token", "attachment", "audit", "audit_prune_gate", "gateway_key",
            "gateway_secret_key", "inbound_spool", "inbound_spool_piece", "gateway_node",
            "held_reply", "login_lock", "mailbridge_schema", "message", "notice_pending", "outbox",
            "public_key", "rejected_message", "reply_delivery", "sender_rate_limit", "seen_ciphertext", "store_meta",
            "thread", "thread_key", "web_session", "webhook_event", "webhook_subscription", "organisation_key",
        ])
    }

    /// Two nodes start at the same moment while a third session holds the advisory lock: both wait, then exactly
    /// one applies the migrations and the other finds them done.
    @Test func twoConcurrentOpenersMigrateOnce() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        let holder = try await PostgresConnector.connect(endpoint, logger: logger)
        try await holder.query("SELECT pg_advisory_lock(\(PostgresMigrator.lockKey))", logger: logger)
        async let a = PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresMigrator.migrate($0, logger: logger)
        }
        async let b = PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresMigrator.migrate($0, logger: logger)
        }
        // Both wait on the lock: nothing is recorded yet (the schema table may not even exist).
        try await waitUntil { (try? lockWaiters(database)) == 2 }
        let early = try database.server.psql("SELECT to_regclass('mailbridge_schema') IS NOT NULL",
                                             database: database.name)
        #expect(early.trimmingCharacters(in: .whitespacesAndNewlines) == "f")
        try await holder.query("SELECT pg_advisory_unlock(\(PostgresMigrator.lockKey))", logger: logger)
        let outcomes = try await [a, b]
        try await holder.close()
        #expect(outcomes.map(\.applied).sorted { $0.count < $1.count }
            == [[], PostgresSchema.migrations.map(\.version)])
        let count = try database.server.psql("SELECT count(*) FROM mailbridge_schema", database: database.name)
        #expect(count.trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresSchema.migrations.count)")
    }

    @Test func aMigrationThatFailsLeavesNothingBehind() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        let broken = PostgresSchema.migrations + [
            PostgresMigration(version: PostgresSchema.latestVersion + 1, name: "broken",
                              statements: ["CREATE TABLE half_done (id INTEGER)", "THIS IS NOT SQL"]),
        ]
        await #expect(throws: PSQLError.self) {
            try await PostgresConnector.withConnection(endpoint, logger: logger) {
                try await PostgresMigrator.migrate($0, logger: logger, migrations: broken)
            }
        }
        let tables = try database.server.psql(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: database.name)
        #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    // MARK: The audit log is append-only in the database

    @Test func theGatewayRoleCannotUpdateDeleteOrTruncateAuditRows() async throws {
        let (endpoint, _) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: logger)
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            try await connection.query(
                "INSERT INTO audit (at, event, thread_id) VALUES (1, 7, \(String(repeating: "a", count: 32)))",
                logger: logger)
            for statement in ["UPDATE audit SET event = 8", "DELETE FROM audit", "TRUNCATE audit",
                              "UPDATE audit SET at = at + 1 WHERE id = 1"] {
                let error = await #expect(throws: PSQLError.self, "\(statement)") {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                #expect(error?.serverInfo?[.sqlState] == "MBA01", "\(statement)")
            }
            let rows = try await connection.query("SELECT count(*), min(event) FROM audit", logger: logger)
            for try await (count, event) in rows.decode((Int, Int).self) {
                #expect(count == 1)
                #expect(event == 7)
            }
        }
    }

    @Test func retentionMayDeleteAuditRowsOnlyThroughTheGateInItsOwnTransaction() async throws {
        let (endpoint, _) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: logger)
        let other = try await PostgresConnector.connect(endpoint, logger: logger)
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            try await connection.query("INSERT INTO audit (at, event) VALUES (1, 7), (2, 7)", logger: logger)
            try await PostgresTransaction.run(connection, logger: logger) { connection in
                try await connection.query("UPDATE audit_prune_gate SET open = TRUE WHERE id = 1", logger: logger)
                // Another session (another node) still sees the gate closed.
                let error = await #expect(throws: PSQLError.self) {
                    try await other.query("DELETE FROM audit WHERE at = 2", logger: logger)
                }
                #expect(error?.serverInfo?[.sqlState] == "MBA01")
                try await connection.query("DELETE FROM audit WHERE at = 1", logger: logger)
                try await connection.query("UPDATE audit_prune_gate SET open = FALSE WHERE id = 1", logger: logger)
            }
            let rows = try await connection.query("SELECT count(*) FROM audit", logger: logger)
            for try await count in rows.decode(Int.self) { #expect(count == 1) }
        }
        try await other.close()
    }

    @Test func sealedColumnsAreBytesAndConstraintsHold() async throws {
        let (endpoint, _) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: logger)
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            let key = ByteBuffer(bytes: [UInt8](repeating: 1, count: 32))
            let sealed = ByteBuffer(bytes: [0, 255, 10, 13, 0])
            let id = String(repeating: "b", count: 32)
            try await connection.query("""
                INSERT INTO thread (id, field, client_key_hmac, client_key_sealed, client_address_sealed, state,
                                    created_at, last_activity_at)
                VALUES (\(id), 'allgemein', \(key), \(sealed), \(sealed), 0, 1, 1)
                """, logger: logger)
            let rows = try await connection.query("SELECT client_key_sealed FROM thread WHERE id = \(id)",
                                                  logger: logger)
            for try await value in rows.decode(ByteBuffer.self) { #expect(value == sealed) }
            // A 31-octet HMAC breaks the CHECK constraint, as on SQLite.
            let short = ByteBuffer(bytes: [UInt8](repeating: 1, count: 31))
            let other = String(repeating: "c", count: 32)
            let error = await #expect(throws: PSQLError.self) {
                try await connection.query("""
                    INSERT INTO thread (id, field, client_key_hmac, client_key_sealed, client_address_sealed, state,
                                        created_at, last_activity_at)
                    VALUES (\(other), 'allgemein', \(short), \(sealed), \(sealed), 0, 1, 1)
                    """, logger: logger)
            }
            #expect(error?.serverInfo?[.sqlState] == "23514")
        }
    }

    private func lockWaiters(_ database: TestDatabase) throws -> Int {
        let text = try database.server.psql("""
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, database: database.name)
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    private func waitUntil(seconds: Double = 20, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { throw PostgresServerFailure("condition not reached") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Issue 29: a PostgreSQL store of schema version 10 (before organisations) with an account, a thread and audit
/// rows upgrades in place to version 11, 12 and 13: the accounts belong to no organisation, no organisation key is
/// known yet, nobody is an organisation's administrator, nothing else changes.
@Suite struct PostgresOrganisationUpgradeTests {
    let logger = PostgresTesting.logger

    @Test func aVersion10StoreUpgradesWithItsDataIntact() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresMigrator.migrate($0, logger: logger)
        }
        let psql = { (sql: String) in
            try database.server.psql(sql, database: database.name).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try psql("""
            DROP TABLE organisation_key;
            DROP INDEX account_by_organisation;
            ALTER TABLE account DROP COLUMN organisation;
            ALTER TABLE account DROP COLUMN administers;
            DELETE FROM mailbridge_schema WHERE version IN (11, 12, 13);
            INSERT INTO account (id, username, display_name, role, language, password_hash, created_at,
                                 password_changed_at)
            VALUES ('\(String(repeating: "b", count: 32))', 'alt', 'Alt', 1, 'de',
                    '$2b$04$\(String(repeating: "a", count: 53))', 1000, 1000);
            INSERT INTO account_field (account_id, field) VALUES ('\(String(repeating: "b", count: 32))', 'sucht');
            INSERT INTO audit (at, event) VALUES (1000, 1), (1001, 34);
            """)
        let auditBefore = try psql("SELECT string_agg(at || ':' || event, ',' ORDER BY id) FROM audit")
        let upgraded = try await PostgresConnector.withConnection(endpoint, logger: logger) {
            try await PostgresMigrator.migrate($0, logger: logger)
        }
        #expect(upgraded == .init(applied: [11, 12, 13], version: PostgresSchema.latestVersion))
        #expect(try psql("SELECT count(*) FROM organisation_key") == "0")
        #expect(try psql("""
            SELECT username || ':' || role || ':' || coalesce(organisation, '-') || ':' || administers FROM account
            """) == "alt:1:-:false")
        #expect(try psql("SELECT field FROM account_field") == "sucht")
        #expect(try psql("SELECT string_agg(at || ':' || event, ',' ORDER BY id) FROM audit") == auditBefore)
        _ = try psql("UPDATE account SET organisation = 'org-a'")
        #expect(throws: (any Error).self) { try psql("UPDATE account SET organisation = 'Org A'") }
    }
}
