// `mailbridge master-key rotate` and `mailbridge restore`: argument parsing only; the logic is in MailBridge
// (`RecoveryAdmin`, `MasterKeyRotator`, `BackupRestore`). Both run without opening an installation.

import ArgumentParser
import Foundation
import Logging
import MailBridge

struct MasterKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "master-key", abstract: "Manage the master key.", subcommands: [MasterKeyRotate.self])
}

struct MasterKeyRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Reseal the store under a new master key (the gateway must be stopped).",
        discussion: """
            Writes the new key to master-key-file.next, reseals every thread key and every value sealed under the \
            master key in one transaction, then renames the new key over master-key-file. Interrupted at any \
            point, the store opens with exactly one of the two keys; run the command again to finish. Backups \
            written before the rotation need the old key. \(adminExitCodes)
            """)
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let logger = RecoveryLogging.bootstrap()
        let configuration: BridgeConfiguration
        if options.embedded, let dataDir = options.dataDir, let folder = try? AbsolutePath(dataDir) {
            configuration = .embeddedDefault(dataFolder: folder)
        } else {
            do { configuration = try BridgeConfiguration.load(file: options.config) } catch {
                StandardError.write("mailbridge: \(FailureExplanation.message(for: error))\n")
                throw ExitCode(ExitStatus.invalidConfiguration.rawValue)
            }
        }
        try RecoveryLogging.finish(await RecoveryAdmin.rotateMasterKey(configuration: configuration, logger: logger))
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup archive into an empty data folder and verify it.",
        discussion: """
            Unpacks FILE (written by `mailbridge backup`) into DIR (absent or empty): the store, the spool and the \
            GnuPG home (DIR/gnupg). Reports success only after the counts match the backup, every thread key \
            unwraps and every gateway key decrypts a test message; otherwise nothing is left behind. The master \
            key is not in the archive: give it with --master-key, then install it where the configuration's \
            master-key-file expects it. \(adminExitCodes)
            """)
    @Option(help: "The backup archive.") var from: String
    @Option(name: .customLong("data-dir"), help: "The new data folder (absolute path; absent or empty).")
    var dataDir: String
    @Option(name: .customLong("master-key"), help: "The master key file the backup was written with.")
    var masterKey: String
    @Option(name: .customLong("passphrase-file"), help: "The gateway keys' passphrase file, if they have one.")
    var passphraseFile: String?
    @Option(name: .customLong("config"), help: "A configuration file to compare with the backup's checksum.")
    var config: String?

    func validate() throws {
        guard (try? AbsolutePath(dataDir)) != nil else { throw ValidationError("--data-dir must be an absolute path") }
    }

    func run() async throws {
        let logger = RecoveryLogging.bootstrap()
        var configurationText: Data?
        if let config {
            guard let text = FileManager.default.contents(atPath: config) else {
                StandardError.write("mailbridge: cannot read \(config)\n")
                throw ExitCode(ExitStatus.invalidConfiguration.rawValue)
            }
            configurationText = text
        }
        try RecoveryLogging.finish(await RecoveryAdmin.restore(
            from: URL(fileURLWithPath: from), dataFolder: URL(fileURLWithPath: dataDir),
            masterKeyFile: URL(fileURLWithPath: masterKey),
            passphraseFile: passphraseFile.map { URL(fileURLWithPath: $0) },
            configurationText: configurationText, logger: logger))
    }
}

enum RecoveryLogging {
    static func bootstrap() -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        return Logger(label: "mailbridge")
    }

    static func finish(_ result: AdminResult) throws {
        if !result.output.isEmpty { print(result.output) }
        if !result.errorOutput.isEmpty { StandardError.write("mailbridge: \(result.errorOutput)\n") }
        if result.status != .success { throw ExitCode(result.status.rawValue) }
    }
}
