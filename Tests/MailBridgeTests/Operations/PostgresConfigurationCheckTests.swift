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
                               passwordFile: String? = nil) throws -> String {
        let text = ConfigurationErrorTests.mailbox + """
            [store]
            engine = "postgresql"
            host = "127.0.0.1"
            port = \(database.server.port)
            database = "\(database.name)"
            user = "\(database.user)"
            password-file = "\(passwordFile ?? database.passwordFile.path)"
            tls = "disable"
            connect-timeout-seconds = 5

            """
        return try folder.write("mailbridge.toml", text)
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
}
