// Security: `mailbridge store migrate-schema` connects as the schema's owner (`[store] migration-user`), whose
// password file the gateway never reads. Output names roles, versions and what is wrong; never a password.

import Foundation
public import Logging
import StorePostgres

/// `mailbridge store migrate-schema` (issue 21, docs/postgresql.md "Two roles"): brings the PostgreSQL schema up
/// to date as its owner and grants the gateway's role exactly the rights it needs.
///
/// ```swift
/// let outcome = await StoreSchemaMigration.run(configuration, logger: logger)
/// print(outcome.output)          // "schema version 4 (applied 1, 2, 3, 4); rights granted to mailbridge"
/// ```
public enum StoreSchemaMigration {
    /// The exit status and what to print.
    public struct Outcome: Sendable {
        public var status: ExitStatus
        public var output: String
    }

    /// Migrates as `migration-user`. A configuration without PostgreSQL or without `migration-user` is an invalid
    /// configuration for this command (status 3); an unreachable server or a refused role a failure (status 1).
    public static func run(_ configuration: BridgeConfiguration, logger: Logger) async -> Outcome {
        guard let postgresql = configuration.store.postgresql else {
            return Outcome(status: .invalidConfiguration,
                           output: "store.engine: migrate-schema needs engine = \"postgresql\"")
        }
        guard let owner = ConfigurationCheck.migrationEndpoint(postgresql) else {
            return Outcome(status: .invalidConfiguration, output: """
                store.migration-user: migrate-schema needs migration-user and migration-password-file (the role \
                that owns the schema); without them the gateway's user owns the schema and migrates it when it starts
                """)
        }
        do {
            let report = try await PostgresStore.migrateSchema(owner: owner, gatewayRole: postgresql.user,
                                                               logger: logger)
            let applied = report.applied.isEmpty ? "already current"
                : "applied " + report.applied.map(String.init).joined(separator: ", ")
            return Outcome(status: .success, output: "store: PostgreSQL \(owner): schema version \(report.version) "
                + "(\(applied)); rights granted to \(postgresql.user)")
        } catch {
            return Outcome(status: .failure, output: "store: \(error)")
        }
    }
}
