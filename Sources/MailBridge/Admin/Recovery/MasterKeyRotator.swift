// Security: replaces the master key. The order of file and database commits makes every crash point recoverable
// (see ``MasterKeyRotator``); key bytes go only into `MasterKey` values and the new key file (0600, O_EXCL,
// fsynced); they never reach output, logs or errors. Runs only while no gateway runs (``OfflineClaim``).

import Foundation
public import Logging
public import ThreadStore

/// `mailbridge master-key rotate`: a new master key for the store, crash-safe at every point.
///
/// With `K` the configured `master-key-file` and `N` = `K.next`:
/// 1. take the daemon lock (refused while the gateway runs here); on PostgreSQL the resealing transaction also
///    refuses while any gateway node is connected to the database (``PostgresMasterKeyRotation``);
/// 2. finish or undo an interrupted rotation: if `N` exists and opens the store, rename it over `K`; otherwise
///    (the store still opens with `K`) delete `N`;
/// 3. write a fresh key to `N` (O_EXCL, 0600, fsync, folder fsync);
/// 4. reseal the store under `N` in ONE transaction (the commit point; `synchronous=FULL` on SQLite);
/// 5. rename `N` over `K` and fsync the folder.
///
/// A `kill -9` before 4 commits leaves the store on `K` (and maybe a stray `N`); after, the store is on `N` until
/// step 5 makes it `K`. Either way exactly one of the two keys opens the store, and running the command again
/// finishes the job. A gateway started in between refuses to start, saying so (``interruptedRotation(_:)``).
public enum MasterKeyRotator {
    /// Rotates; returns the lines to print. `progress` hears each step's name (for the crash tests).
    public static func rotate(
        configuration: BridgeConfiguration, logger: Logger, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> [String] {
        let environment = ProcessInfo.processInfo.environment
        let keyPath = configuration.keys.masterKeyFile.string
        if configuration.keys.masterKeyPath(environment: environment, fileExists: {
            FileManager.default.fileExists(atPath: $0)
        }) != keyPath {
            throw RecoveryError(.io, "the master key comes from a systemd credential here; run `master-key rotate` "
                                + "from a shell, where it uses master-key-file \(keyPath)")
        }
        let claim = try OfflineClaim.take(gnupgHome: configuration.keys.gnupgHome.string)
        defer { claim.release() }
        progress("claimed")
        let target = try await RotationTarget.open(configuration, logger: logger)
        do {
            let lines = try await rotate(target, keyPath: keyPath, configuration: configuration, logger: logger,
                                         progress: progress)
            await target.close()
            return lines
        } catch {
            await target.close()
            throw error
        }
    }

    private static func rotate(
        _ target: RotationTarget, keyPath: String, configuration: BridgeConfiguration, logger: Logger,
        progress: @Sendable (String) -> Void
    ) async throws -> [String] {
        let nextPath = keyPath + ".next"
        let folder = URL(fileURLWithPath: keyPath).deletingLastPathComponent().path
        let current = try configuration.keys.loadMasterKey(environment: [:])
        var lines: [String] = []
        if FileManager.default.fileExists(atPath: nextPath) {
            if let next = try? MasterKey(contentsOf: URL(fileURLWithPath: nextPath)), try await target.opens(with: next) {
                try POSIXFile.move(nextPath, keyPath)
                try POSIXFile.syncDirectory(folder)
                progress("renamed")
                return ["finished an interrupted rotation: \(keyPath) holds the new master key"] + target.afterwards(keyPath)
            }
            guard try await target.opens(with: current) else {
                throw RecoveryError(.keyMismatch, "neither \(keyPath) nor \(nextPath) opens the store")
            }
            try POSIXFile.remove(nextPath)
            try POSIXFile.syncDirectory(folder)
            lines.append("an interrupted rotation had not committed; removed \(nextPath) and started again")
        } else {
            guard try await target.opens(with: current) else {
                throw RecoveryError(.keyMismatch, "\(keyPath) does not open the store")
            }
        }

        let next = MasterKey.generate()
        do { try next.write(to: URL(fileURLWithPath: nextPath)) } catch {
            throw RecoveryError(.io, "cannot write \(nextPath)")
        }
        try POSIXFile.syncDirectory(folder)
        progress("next-written")
        // `N` stays when this throws (a commit whose answer was lost, PostgreSQL over a network, may have happened:
        // the next run tells by which key opens the store), except for a refusal made before anything was written.
        let summary: MasterKeyRotationSummary
        do {
            summary = try await target.reseal(from: current, to: next)
        } catch let refusal as RecoveryError where refusal.code == .gatewayRunning {
            try POSIXFile.remove(nextPath)
            try POSIXFile.syncDirectory(folder)
            throw refusal
        }
        progress("committed")
        try POSIXFile.move(nextPath, keyPath)
        try POSIXFile.syncDirectory(folder)
        progress("renamed")
        logger.notice("master key rotated", metadata: ["summary": "\(summary)"])
        return lines + [
            "rotated the master key (\(summary))",
            "\(keyPath) holds the new key; the old key opens nothing in the store any more",
            "backups written before now open only with the old key: keep it with them offline, or make a new backup",
        ] + target.afterwards(keyPath)
    }

    /// See ``InterruptedRotation/error(_:)``.
    public static func interruptedRotation(_ configuration: BridgeConfiguration) -> RecoveryError? {
        InterruptedRotation.error(configuration)
    }
}
