import Foundation
import Logging
import Testing
import TestSupport

@testable import MailBridge

/// `mailbridge check-config` with `engine = "postgresql"` against a real private PostgreSQL server (issue 21).
/// Every way to fail is covered in StorePostgresTests; here the wiring: a reachable database is reported with its
/// schema version, a refused user fails the check naming the user, and the password never shows.
@Suite struct PostgresConfigurationCheckTests {
    let logger = Logger(label: "test.check-config")

    private func configuration(_ database: TestDatabase, folder: TemporaryFolder,
                               passwordFile: String? = nil, user: String? = nil, extra: String = "",
                               name: String = "mailbridge.toml") throws -> String {
        let text = ConfigurationErrorTests.mailbox + """
            [store]
            engine = "postgresql"
            host = "127.0.0.1"
            port = \(database.server.port)
            database = "\(database.name)"
            user = "\(user ?? database.user)"
            password-file = "\(passwordFile ?? database.passwordFile.path)"
            tls = "disable"
            connect-timeout-seconds = 5
            \(extra)
            """
        return try folder.write(name, text)
    }

    @Test func aReachableDatabaseIsValidWithItsSchemaVersion() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let config = try configuration(database, folder: folder)
        let result = await ConfigurationCheck.run(file: config, logger: logger)
        #expect(result.status == .success, "\(result.output)")
        #expect(result.output.contains("no MailBridge schema yet"))
        let json = await ConfigurationCheck.run(file: config, json: true, logger: logger)
        #expect(json.output.contains("\"postgresqlSchemaVersion\" : 0"), "\(json.output)")
        #expect(!result.output.contains(database.password) && !json.output.contains(database.password))
    }

    @Test func aRefusedUserFailsTheCheckNamingTheUser() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let wrong = try folder.write("wrong-password", "Geheim-\(UUID().uuidString)\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: wrong)
        let config = try configuration(database, folder: folder, passwordFile: wrong)
        let result = await ConfigurationCheck.run(file: config, logger: logger)
        #expect(result.status == .invalidConfiguration)
        #expect(result.errors.map(\.code) == [.storeUnusable])
        #expect(result.errors.first?.option == "store")
        #expect(result.output.contains("refused the user \(database.user)"), "\(result.output)")
        #expect(!result.output.contains("Geheim-"))
        // The synchronous check (files only) does not connect and passes.
        #expect(ConfigurationCheck.run(file: config).status == .success)
    }

    @Test func anOpenPasswordFileIsReportedWithoutConnecting() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let open = try folder.write("open-password", database.password + "\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: open)
        let config = try configuration(database, folder: folder, passwordFile: open)
        let result = await ConfigurationCheck.run(file: config, logger: logger)
        #expect(result.errors.map(\.code) == [.insecureFile])
        #expect(result.errors.first?.option == "store.password-file")
    }

    /// Two roles (docs/postgresql.md): `store migrate-schema` migrates as the owner and grants the gateway's role;
    /// check-config then passes without warnings for the gateway's role, warns when the configured user owns the
    /// schema, and fails naming a right the gateway's role lacks.
    @Test func theGatewayRolesRightsAreChecked() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let gateway = try await server.makeRole("mb_gateway")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let asGateway = try configuration(
            database, folder: folder, passwordFile: gateway.passwordFile.path, user: gateway.user, extra: """
                migration-user = "\(database.user)"
                migration-password-file = "\(database.passwordFile.path)"
                """, name: "gateway.toml")
        let before = await ConfigurationCheck.run(file: asGateway, logger: logger)
        #expect(before.status == .success)
        #expect(before.output.contains("run `mailbridge store migrate-schema` first"), "\(before.output)")
        let loaded = try BridgeConfiguration.load(file: asGateway)
        #expect(loaded.store.postgresql?.user == gateway.user)
        let migrated = await StoreSchemaMigration.run(loaded, logger: logger)
        #expect(migrated.status == .success, "\(migrated.output)")
        #expect(migrated.output.contains("rights granted to \(gateway.user)"))
        #expect(!migrated.output.contains(database.password))

        let clean = await ConfigurationCheck.run(file: asGateway, logger: logger)
        #expect(clean.status == .success, "\(clean.output)")
        #expect(!clean.output.contains("warning"), "\(clean.output)")

        // The schema's owner as the gateway's user: valid, with a warning.
        let asOwner = try configuration(database, folder: folder)
        let warned = await ConfigurationCheck.run(file: asOwner, logger: logger)
        #expect(warned.status == .success)
        #expect(warned.output.contains("store: warning: the gateway's role owns the schema"), "\(warned.output)")
        let json = await ConfigurationCheck.run(file: asOwner, json: true, logger: logger)
        #expect(json.output.contains("\"postgresqlPrivilegeWarnings\" : 2"), "\(json.output)")

        // A right taken away: the check fails and names it.
        try server.psql("REVOKE INSERT ON audit FROM \(gateway.user)", database: database.name)
        let missing = await ConfigurationCheck.run(file: asGateway, logger: logger)
        #expect(missing.status == .invalidConfiguration)
        #expect(missing.errors.first?.option == "store.user")
        #expect(missing.output.contains("lacks INSERT on audit"), "\(missing.output)")
    }
}
