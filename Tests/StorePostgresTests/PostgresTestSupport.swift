import Foundation
import Logging
import TestSupport

@testable import StorePostgres

/// Endpoints on the private test server (TestSupport's ``PostgresServer``).
enum PostgresTesting {
    static let logger = Logger(label: "test.postgres")

    /// A fresh database and owner role on the shared server, reached without TLS on 127.0.0.1.
    static func freshEndpoint() async throws -> (PostgresEndpoint, TestDatabase) {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        return (endpoint(database), database)
    }

    static func endpoint(_ database: TestDatabase, host: String? = nil, tls: PostgresEndpoint.TLSMode = .disable,
                         caFile: String? = nil) -> PostgresEndpoint {
        PostgresEndpoint(
            host: host ?? database.server.host, port: database.server.port, database: database.name,
            user: database.user, passwordFile: database.passwordFile.path, tls: tls, caFile: caFile,
            connectTimeoutSeconds: 5)
    }

    /// A fresh database whose own role owns the schema (migrated by `mailbridge store migrate-schema`'s code) and
    /// a second role, the gateway's, that got only the rights ``PostgresPrivileges`` grants (docs/postgresql.md,
    /// "Two roles"). `migrate: false` leaves the database empty.
    static func twoRoles(migrate: Bool = true) async throws -> TwoRoles {
        let (owner, database) = try await freshEndpoint()
        let role = try await database.server.makeRole("mb_gateway")
        var gateway = owner
        gateway.user = role.user
        gateway.passwordFile = role.passwordFile.path
        if migrate { _ = try await PostgresStore.migrateSchema(owner: owner, gatewayRole: role.user, logger: logger) }
        return TwoRoles(owner: owner, gateway: gateway, database: database, role: role)
    }
}

/// The schema owner's and the gateway's endpoints on one test database.
struct TwoRoles: Sendable {
    let owner: PostgresEndpoint
    let gateway: PostgresEndpoint
    let database: TestDatabase
    let role: TestRole
}
