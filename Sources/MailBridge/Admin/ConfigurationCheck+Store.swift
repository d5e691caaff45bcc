// Security: connects to the configured PostgreSQL server (issue 21). The report names host, port, user and
// database (configuration) and what is wrong; never the password or a server message.

import Foundation
public import Logging
import StorePostgres

extension ConfigurationCheck {
    /// ``run(file:json:)`` and, when the configuration is valid and names `engine = "postgresql"`, a connection to
    /// the server: unreachable, TLS (no TLS on the server, name mismatch, untrusted certificate), authentication,
    /// missing database and a schema newer than this binary are problems (`store` option, exit status 3); an
    /// empty or older schema is fine (the first node to start migrates it) and reported in the summary.
    public static func run(file: String, json: Bool = false, logger: Logger) async -> Result {
        let result = run(file: file, json: json)
        guard result.status == .success, let configuration = try? BridgeConfiguration.load(file: file),
              let postgresql = configuration.store.postgresql else { return result }
        let endpoint = postgresEndpoint(postgresql)
        var summary = [
            "mailboxes": configuration.mailboxes.count, "imapSources": configuration.imapSources.count,
            "smtpPort": configuration.smtp.port,
        ]
        switch await PostgresStore.check(endpoint, logger: logger) {
        case .success(let status):
            switch status {
            case .empty: summary["postgresqlSchemaVersion"] = 0
            case .current(let version), .behind(let version, _): summary["postgresqlSchemaVersion"] = version
            }
            let output = json ? jsonReport(file: file, errors: [], summary: summary)
                : result.output + "\nstore: PostgreSQL \(endpoint): \(status)"
            return Result(status: .success, output: output, errors: [])
        case .failure(let problem):
            let error = ConfigurationError(.storeUnusable, file: file, option: "store", expected: problem.description)
            let output = json ? jsonReport(file: file, errors: [error], summary: summary)
                : "\(error.description)\n1 problem(s) in \(file)"
            return Result(status: .invalidConfiguration, output: output, errors: [error])
        }
    }

    /// The engine's endpoint for the configured server.
    static func postgresEndpoint(_ postgresql: BridgeConfiguration.PostgreSQL) -> PostgresEndpoint {
        PostgresEndpoint(
            host: postgresql.host, port: postgresql.port, database: postgresql.database, user: postgresql.user,
            passwordFile: postgresql.passwordFile.string,
            tls: postgresql.tls == .disable ? .disable : .verifyFull, caFile: postgresql.caFile?.string,
            connectTimeoutSeconds: postgresql.connectTimeoutSeconds)
    }
}
