// Security: `mailbridge store migrate --to postgresql` copies sealed rows as they are (StorePostgres
// `SQLiteToPostgres`); it opens nothing but the key check. Output names tables, counts and what is wrong; never a
// value or a password.

import Foundation
public import Logging
import StorePostgres
import ThreadStore

/// `mailbridge store migrate --to postgresql` (issue 21): moves a SQLite installation into the configured
/// PostgreSQL database, which must be empty.
///
/// Refused while a gateway runs on this data folder (the daemon lock, ``OfflineClaim``). Migrates the PostgreSQL
/// schema first (as `migration-user` when it is configured, else as `user`), copies every row in one transaction
/// as that role, compares counts and per-table and per-thread digests of what it reads back, then opens the copy
/// with the master key (its key check). The SQLite file is left as it was: remove it once the gateway runs on
/// PostgreSQL.
///
/// ```swift
/// let outcome = await StoreMove.run(configuration, logger: logger)
/// print(outcome.output)  // "store: moved 1234 rows in 21 tables, 17 threads with equal digests, into …"
/// ```
public enum StoreMove {
    public static func run(_ configuration: BridgeConfiguration, logger: Logger) async
        -> StoreSchemaMigration.Outcome
    {
        guard let postgresql = configuration.store.postgresql else {
            return .init(status: .invalidConfiguration, output: """
                store.engine: migrate --to postgresql needs engine = "postgresql" and the server's [store] keys \
                (the data folder's SQLite store is the source)
                """)
        }
        let file = URL(fileURLWithPath: configuration.data.folder.string).appendingPathComponent("threads.sqlite")
        guard FileManager.default.fileExists(atPath: file.path) else {
            return .init(status: .failure, output: "store: no SQLite store at \(file.path) to move")
        }
        let claim: OfflineClaim
        do {
            claim = try OfflineClaim.take(gnupgHome: configuration.keys.gnupgHome.string)
        } catch {
            return .init(status: .failure, output: "store: \(error)")
        }
        defer { claim.release() }
        let gateway = ConfigurationCheck.postgresEndpoint(postgresql)
        let endpoint = ConfigurationCheck.migrationEndpoint(postgresql) ?? gateway
        do {
            let masterKey = try configuration.keys.loadMasterKey()
            let store = try ThreadStore(at: file, masterKey: masterKey)
            if endpoint.user != gateway.user {
                _ = try await PostgresStore.migrateSchema(owner: endpoint, gatewayRole: postgresql.user,
                                                          logger: logger)
            } else {
                _ = try await PostgresStore.open(endpoint, logger: logger)
            }
            let database = try PostgresDatabase(endpoint, maximumConnections: 2, logger: logger)
            let pool = await database.start()
            defer { pool.cancel() }
            let report = try await SQLiteToPostgres.migrate(store, into: database, logger: logger)
            // The copy opens with this master key (its key check came along with store_meta).
            _ = try await PostgresThreads.open(database, masterKey: masterKey, logger: logger)
            return .init(status: .success, output: "store: moved \(report) from \(file.path) into PostgreSQL "
                + "\(endpoint); the SQLite file is unchanged")
        } catch {
            return .init(status: .failure, output: "store: nothing moved: \(error)")
        }
    }
}
