// Security: the store a master key rotation reseals, on either engine. Opening it checks nothing but where it is;
// whether a key opens it is asked with the key check only (nothing else is opened). Key bytes stay in MasterKey.

import Foundation
import Logging
import StorePostgres
import ThreadStore

/// The store of `master-key rotate` (``MasterKeyRotator``): the SQLite file in the data folder, or the PostgreSQL
/// database shared by every node.
enum RotationTarget {
    case sqlite(URL, ThreadStore.Configuration)
    case postgresql(PostgresDatabase, Task<Void, Never>, Logger)

    /// The configured store. - Throws: ``RecoveryError`` for a data folder without a store.
    static func open(_ configuration: BridgeConfiguration, logger: Logger) async throws -> RotationTarget {
        if configuration.store.engine == .postgresql, let postgresql = configuration.store.postgresql {
            let endpoint = postgresql.endpoint
            _ = try await PostgresStore.open(endpoint, logger: logger)
            let database = try PostgresDatabase(endpoint, maximumConnections: 1, logger: logger)
            return .postgresql(database, await database.start(), logger)
        }
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.logger = logger
        let url = URL(fileURLWithPath: configuration.data.folder.string).appendingPathComponent("threads.sqlite")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw RecoveryError(.io, "no store at \(url.path): nothing to rotate")
        }
        return .sqlite(url, storeConfiguration)
    }

    /// Whether `key` opens the store (a wrong key is `false`; other failures throw).
    func opens(with key: MasterKey) async throws -> Bool {
        switch self {
        case .sqlite(let url, let configuration):
            do {
                let store = try ThreadStore(at: url, masterKey: key, configuration: configuration)
                try store.close()
                return true
            } catch let error as ThreadStoreError where error == .wrongMasterKey {
                return false
            }
        case .postgresql(let database, _, let logger):
            return try await PostgresMasterKeyRotation.opens(database, with: key, logger: logger)
        }
    }

    /// Reseals everything from `old` to `new` in one transaction.
    func reseal(from old: MasterKey, to new: MasterKey) async throws -> MasterKeyRotationSummary {
        switch self {
        case .sqlite(let url, let configuration):
            return try await ThreadStore.rotateMasterKey(at: url, from: old, to: new, configuration: configuration)
        case .postgresql(let database, _, let logger):
            do {
                return try await PostgresMasterKeyRotation.rotate(database, from: old, to: new, logger: logger)
            } catch let refusal as PostgresMasterKeyRotation.Refusal {
                throw RecoveryError(.gatewayRunning, "\(refusal)")
            }
        }
    }

    /// What the administrator does next, beyond this machine.
    func afterwards(_ keyPath: String) -> [String] {
        guard case .postgresql = self else { return [] }
        return ["every node of this database needs the new key before it starts again: copy \(keyPath) to each "
                + "node's master-key-file (or its systemd credential); a node with the old key refuses to start"]
    }

    func close() async {
        guard case .postgresql(_, let pool, _) = self else { return }
        pool.cancel()
        await pool.value
    }
}
