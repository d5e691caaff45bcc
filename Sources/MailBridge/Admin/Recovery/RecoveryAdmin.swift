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
            return .failure(.failure, "master key rotation: \(error)")
        }
    }

    /// Writes a backup archive while the gateway may run. `configurationText`: the configuration file's bytes.
    /// An existing `file` fails (exit 1, as docs/exit-codes.md says) and stays untouched.
    public static func backup(_ installation: OpenedInstallation, to file: URL,
                              configurationText: Data) async throws -> AdminResult {
        try await BackupWriter.write(installation, to: file, configurationText: configurationText)
    }

    /// Restores `archive` into the empty folder `dataFolder` with the master key in `masterKeyFile`.
    public static func restore(from archive: URL, dataFolder: URL, masterKeyFile: URL, passphraseFile: URL?,
                               configurationText: Data?, logger: Logger) async -> AdminResult {
        let masterKey: MasterKey
        do {
            masterKey = try MasterKey(contentsOf: masterKeyFile)
        } catch {
            return .failure(.failure, "restore: master key \(masterKeyFile.path): \(error)")
        }
        do {
            let lines = try await BackupRestore.restore(
                from: archive, into: dataFolder, masterKey: masterKey, passphraseFile: passphraseFile,
                configurationText: configurationText, logger: logger)
            return AdminResult(output: lines.joined(separator: "\n"))
        } catch let error as RecoveryError where error.code == .targetNotEmpty {
            return .failure(.usage, "restore: \(error)")
        } catch {
            return .failure(.failure, "restore failed, nothing was restored: \(error)")
        }
    }
}
