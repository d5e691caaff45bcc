// The `mailbridge` executable: argument parsing only. Every subcommand's logic lives in the MailBridge library
// (`ConfigurationCheck`, `DataFolderInitializer`, …) so tests call it without a process.

import ArgumentParser
import Logging
import MailBridge
import PGPShim
import ThreadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct MailbridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbridge",
        abstract: "Secure e-mail gateway for online counselling.",
        discussion: """
            Exit codes (also in docs/exit-codes.md):
              0  success; for check-config: the configuration is valid
              1  run-time failure (a file or key could not be created, ...)
              2  usage error (unknown option, missing or conflicting arguments)
              3  the configuration file is missing, unreadable or invalid
            Admin commands (keys, threads, thread, reply, queue, backup, users, tokens) take --config FILE and \
            open the store with the master key like serve; `reply` exits 0 also when only the reply-waiting \
            notice was queued (it says so).
            """,
        subcommands: [Serve.self, CheckConfig.self, Init.self, Keys.self, Threads.self, ThreadCommand.self, Reply.self,
                      Queue.self, Spool.self, Backup.self, Users.self, Tokens.self, Audit.self,
                      MasterKeyCommand.self, Restore.self, StoreCommand.self, Webhooks.self, Organisations.self]
    )

    /// Runs the parsed command and maps every outcome to the documented exit codes.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            terminate(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                self.exit(withError: error)  // --help, --version
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { StandardError.write(message + "\n") }
            terminate(code == .validationFailure ? ExitStatus.usage.rawValue : ExitStatus.failure.rawValue)
        }
    }

    static func terminate(_ status: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status)
        #else
        Darwin.exit(status)
        #endif
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and the files it names.",
        discussion: """
            Prints every problem with the file, the option path (like mailbox[2].address) and what is expected.
            Exit codes: 0 valid, 2 usage error, 3 invalid configuration.
            """
    )

    @Option(name: .customLong("config"), help: "The TOML configuration file.")
    var config: String = "/etc/mailbridge/mailbridge.toml"

    @Flag(help: "Print a JSON report instead of text.")
    var json = false

    func run() async throws {
        // With engine = "postgresql" this also connects to the server (issue 21).
        let result = await ConfigurationCheck.run(file: config, json: json,
                                                  logger: Logger(label: "mailbridge.check-config"))
        if result.status == .success || json {
            print(result.output)
            // Issue 20: gateway keys close to their expiry (warnings: the exit status stays 0).
            if result.status == .success, let loaded = try? BridgeConfiguration.load(file: config) {
                for warning in await GatewayKeyExpiryCheck.warnings(loaded) { StandardError.write(warning + "\n") }
            }
        } else {
            StandardError.write(result.output + "\n")
        }
        if result.status != .success { throw ExitCode(result.status.rawValue) }
    }
}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the data folder, the master key and (if absent) the configuration file.",
        discussion: """
            Creates DIR with mode 0700, DIR/gnupg with mode 0700 and the master key (32 random octets, mode \
            0600). An existing master key is never overwritten. With --config FILE: an existing FILE is validated \
            and its [keys] master-key-file is used; a missing FILE is written from the example configuration with \
            the master key beside it (FILE's folder/master.key, where the systemd unit's LoadCredential= reads it). \
            Running init again changes nothing that exists.
            Exit codes: 0 done, 1 failure, 2 usage error, 3 invalid existing configuration.
            """
    )

    @Option(name: .customLong("data-dir"), help: "The data folder (absolute path).")
    var dataDir: String

    @Option(name: .customLong("config"), help: "The configuration file to use or to create (absolute path).")
    var config: String?

    func validate() throws {
        guard (try? AbsolutePath(dataDir)) != nil else { throw ValidationError("--data-dir must be an absolute path") }
        if let config, (try? AbsolutePath(config)) == nil {
            throw ValidationError("--config must be an absolute path")
        }
    }

    func run() async throws {
        do {
            let report = try DataFolderInitializer.run(
                dataFolder: try AbsolutePath(dataDir), configFile: try config.map { try AbsolutePath($0) })
            print(report.lines.joined(separator: "\n"))
        } catch let failure as DataFolderInitializer.Failure {
            StandardError.write("mailbridge init: \(failure)\n")
            throw ExitCode(failure.status.rawValue)
        }
        // With a configuration: make sure every counselling address has its gateway key (existing keys are kept),
        // and print the fingerprints to publish.
        guard let config else { return }
        do {
            let installation = try await OpenedInstallation.open(try BridgeConfiguration.load(file: config),
                                                                 logger: Logger(label: "mailbridge"))
            for mailbox in installation.mailboxes {
                print("gateway key \(mailbox.address.unredactedDescription): \(mailbox.gatewayKey.unredactedDescription)")
            }
            await installation.close()
        } catch {
            StandardError.write("mailbridge init: \(FailureExplanation.message(for: error))\n")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}

/// Writes text to file descriptor 2.
enum StandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            #if canImport(Glibc)
            let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            #else
            let written = bytes.withUnsafeBytes { Darwin.write(2, $0.baseAddress, $0.count) }
            #endif
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
