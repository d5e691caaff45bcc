// Security: the entry points of `master-key rotate`, `backup` and `restore` for the command line; they map
// failures to exit statuses and content-free messages (paths, counts, steps).

public import Foundation
public import Logging
public import ThreadStore

/// `mailbridge master-key rotate`, `backup` and `restore`, callable without a process.
public enum RecoveryAdmin {
    /// Rotates the master key of an installation whose gateway is stopped.
    public static func rotateMasterKey(configuration: BridgeConfiguration, logger: Logger) async -> AdminResult {
        do {
            let lines = try await MasterKeyRotator.rotate(configuration: configuration, logger: logger)
            return AdminResult(output: lines.joined(separator: "\n"))
        } catch {
            return .failure(.failure, "master key rotation: \(FailureExplanation.message(for: error))")
        }
    }

    /// Writes a backup archive while the gateway may run. `configurationText`: the configuration file's bytes.
    /// An existing `file` fails (exit 1, as docs/exit-codes.md says) and stays untouched.
    public static func backup(_ installation: OpenedInstallation, to file: URL,
                              configurationText: Data) async throws -> AdminResult {
        if case .postgresql = installation.engine {
            // The database is shared by every node and backed up with PostgreSQL's own tools; it stays sealed there.
            throw RecoveryError(.io, "the store is in PostgreSQL: back it up with pg_dump (or base backups with WAL "
                                + "archiving) and keep the master key apart from it; restore with pg_restore and "
                                + "start the nodes with the master key (docs/operations.md, \"Backups on PostgreSQL\")")
        }
        return try await BackupWriter.write(installation, to: file, configurationText: configurationText)
    }

    /// Restores `archive` into the empty folder `dataFolder` with the master key in `masterKeyFile`.
    public static func restore(from archive: URL, dataFolder: URL, masterKeyFile: URL, passphraseFile: URL?,
                               configurationText: Data?, logger: Logger) async -> AdminResult {
        let masterKey: MasterKey
        do {
            masterKey = try MasterKey(contentsOf: masterKeyFile)
        } catch {
            let code = error.code
            let why = code == .masterKeyInvalidLength ? "is not \(DataFolderInitializer.masterKeyLength) octets long"
                : code == .masterKeyInsecurePermissions ? "is open to group or others (chmod 600 it)" : "cannot be read"
            return .failure(.failure, "restore: the master key \(masterKeyFile.path) \(why): give --master-key the key "
                            + "file the backup was written with")
        }
        do {
            let lines = try await BackupRestore.restore(
                from: archive, into: dataFolder, masterKey: masterKey, passphraseFile: passphraseFile,
                configurationText: configurationText, logger: logger)
            return AdminResult(output: lines.joined(separator: "\n"))
        } catch let error as RecoveryError where error.code == .targetNotEmpty {
            return .failure(.usage, "restore: \(FailureExplanation.message(for: error))")
        } catch {
            return .failure(.failure,
                            "restore failed, nothing was restored: \(FailureExplanation.message(for: error))")
        }
    }
}
