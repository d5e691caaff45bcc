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
}
