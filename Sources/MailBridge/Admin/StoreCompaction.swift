// Security: `mailbridge store compact` connects as the schema's owner (`[store] migration-user`, or the gateway's
// user where it owns the schema). Output names roles and tables; never a password, never a row.

import Foundation
public import Logging
import StorePostgres

/// `mailbridge store compact` (issue 21, docs/postgresql.md "Deleting a thread on PostgreSQL"): rewrites the tables
/// whose deleted rows must not linger (`thread_key`, the shared inbound spool) so that a deleted thread's wrapped
/// key and processed messages leave PostgreSQL's heap files. Meant for a daily timer on one node
/// (`systemd/mailbridge-compact.timer`).
///
/// ```swift
/// let outcome = await StoreCompaction.run(configuration, logger: logger)
/// print(outcome.output)          // "store: compacted thread_key, inbound_spool, inbound_spool_piece as mailbridge_owner"
/// ```
public enum StoreCompaction {
    /// Compacts as `migration-user` if set, else as the gateway's user (which then owns the schema). A
    /// configuration without PostgreSQL is invalid for this command (status 3); an unreachable server or a role
    /// that does not own the tables a failure (status 1).
    public static func run(_ configuration: BridgeConfiguration, logger: Logger)
        async -> StoreSchemaMigration.Outcome
    {
        guard let postgresql = configuration.store.postgresql else {
            return .init(status: .invalidConfiguration, output: """
                store.engine: compact needs engine = "postgresql" (SQLite overwrites deleted rows itself)
                """)
        }
        let owner = ConfigurationCheck.migrationEndpoint(postgresql) ?? postgresql.endpoint
        let started = ContinuousClock.now
        do {
            let tables = try await PostgresStore.compactSealedTables(owner: owner, logger: logger)
            let elapsed = (ContinuousClock.now - started).components
            let milliseconds = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
            let skipped = PostgresStore.compactedTables.filter { !tables.contains($0) }
            return .init(status: .success, output: "store: compacted \(tables.joined(separator: ", ")) as "
                + "\(owner.user) in \(milliseconds) ms"
                + (skipped.isEmpty ? "" : "; left \(skipped.joined(separator: ", ")) for a later run (a backlog "
                    + "waits in the shared spool)"))
        } catch {
            return .init(status: .failure, output: "store: \(error)")
        }
    }
}
