import Foundation
import Testing
import TestSupport

@testable import StorePostgres

/// `PostgresStore.check` against a real private PostgreSQL server: each way a connection can fail is named as the
/// administrator needs it (issue 21).
@Suite struct PostgresConnectionCheckTests {
    @Test func aReachableEmptyDatabaseIsReadyAndThenCurrent() async throws {
        let (endpoint, _) = try await PostgresTesting.freshEndpoint()
        #expect(try await PostgresStore.check(endpoint, logger: PostgresTesting.logger).get() == .empty)
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
        #expect(try await PostgresStore.check(endpoint, logger: PostgresTesting.logger).get()
            == .current(PostgresStore.schemaVersion))
    }

    @Test func aPortWithoutServerIsUnreachable() async throws {
        let (endpoint, _) = try await PostgresTesting.freshEndpoint()
        var closed = endpoint
        closed.port = try PostgresServer.freePort()
        let result = await PostgresStore.check(closed, logger: PostgresTesting.logger)
        #expect(result.failure == .unreachable(hostAndPort: "127.0.0.1:\(closed.port)"))
        #expect(result.failure?.description.contains("127.0.0.1:\(closed.port)") == true)
    }

    @Test func aWrongPasswordIsAnAuthenticationFailureNamingTheUser() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        let wrong = database.passwordFile.deletingLastPathComponent().appendingPathComponent("wrong-\(database.name)")
        try "not-the-password\n".write(to: wrong, atomically: true, encoding: .utf8)
        var badPassword = endpoint
        badPassword.passwordFile = wrong.path
        let result = await PostgresStore.check(badPassword, logger: PostgresTesting.logger)
        #expect(result.failure == .authenticationFailed(user: database.user))
        #expect(result.failure?.description.contains("not-the-password") == false)

        var unknownUser = endpoint
        unknownUser.user = "nobody_\(database.name)"
        #expect(await PostgresStore.check(unknownUser, logger: PostgresTesting.logger).failure
            == .authenticationFailed(user: unknownUser.user))
    }

    @Test func aMissingDatabaseIsNamed() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        var missing = endpoint
        missing.database = database.name + "_missing"
        #expect(await PostgresStore.check(missing, logger: PostgresTesting.logger).failure
            == .databaseMissing(database: missing.database))
    }

    @Test func aMissingOrEmptyPasswordFileIsNamedBeforeConnecting() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        var missing = endpoint
        missing.passwordFile = database.passwordFile.path + "-absent"
        #expect(await PostgresStore.check(missing, logger: PostgresTesting.logger).failure
            == .passwordFileUnreadable(path: missing.passwordFile))
        let empty = database.passwordFile.path + "-empty"
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        missing.passwordFile = empty
        #expect(await PostgresStore.check(missing, logger: PostgresTesting.logger).failure
            == .passwordFileUnreadable(path: empty))
    }

    @Test func aSchemaNewerThanTheBinaryIsRefusedAndLeftAlone() async throws {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
        let newer = PostgresStore.schemaVersion + 1
        try database.server.psql("INSERT INTO mailbridge_schema (version, name) VALUES (\(newer), 'from-the-future')",
                                 database: database.name)
        let expected = PostgresProblem.schemaNewerThanBinary(found: newer, supported: PostgresStore.schemaVersion)
        #expect(await PostgresStore.check(endpoint, logger: PostgresTesting.logger).failure == expected)
        await #expect(throws: expected) { _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger) }
        let versions = try database.server.psql("SELECT count(*) FROM mailbridge_schema", database: database.name)
        #expect(versions.trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresStore.schemaVersion + 1)")
    }

    // MARK: TLS (the shared server's certificate is for "localhost" only)

    @Test func verifyFullWithTheRightNameAndCASucceeds() async throws {
        let (_, database) = try await PostgresTesting.freshEndpoint()
        let certificate = try #require(database.server.certificate)
        let endpoint = PostgresTesting.endpoint(database, host: "localhost", tls: .verifyFull,
                                                caFile: certificate.path)
        #expect(try await PostgresStore.check(endpoint, logger: PostgresTesting.logger).get() == .empty)
    }

    @Test func verifyFullToAnotherNameIsANameMismatch() async throws {
        let (_, database) = try await PostgresTesting.freshEndpoint()
        let certificate = try #require(database.server.certificate)
        let endpoint = PostgresTesting.endpoint(database, host: "127.0.0.1", tls: .verifyFull,
                                                caFile: certificate.path)
        let result = await PostgresStore.check(endpoint, logger: PostgresTesting.logger)
        #expect(result.failure == .tlsNameMismatch(host: "127.0.0.1"))
        #expect(result.failure?.description.contains("name mismatch") == true)
    }

    @Test func verifyFullWithoutTheCAIsUntrusted() async throws {
        let (_, database) = try await PostgresTesting.freshEndpoint()
        let endpoint = PostgresTesting.endpoint(database, host: "localhost", tls: .verifyFull)
        #expect(await PostgresStore.check(endpoint, logger: PostgresTesting.logger).failure
            == .tlsCertificateUntrusted(hostAndPort: "localhost:\(database.server.port)"))
    }

    @Test func verifyFullAgainstAServerWithoutTLSIsNamed() async throws {
        let server = try await offCooperativePool { () -> PostgresServer in
            let server = try PostgresServer(tls: false)
            try server.start()
            return server
        }
        defer { server.stop() }
        let database = try await server.makeDatabase()
        let endpoint = PostgresTesting.endpoint(database, host: "127.0.0.1", tls: .verifyFull)
        #expect(await PostgresStore.check(endpoint, logger: PostgresTesting.logger).failure
            == .serverWithoutTLS(hostAndPort: "127.0.0.1:\(server.port)"))
        // The same server without TLS on loopback is fine.
        #expect(try await PostgresStore.check(PostgresTesting.endpoint(database), logger: PostgresTesting.logger)
            .get() == .empty)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
