// The admin subcommands: argument parsing only; the logic is in MailBridge (`KeysAdmin`, `ThreadsAdmin`,
// `QueueAdmin`), run inside `AdminSession`, which opens the store with the master key like `serve` does.

import ArgumentParser
import Foundation
import Logging
import MailBridge

/// `--config FILE` (or `--embedded --data-dir DIR`, the set-up of `serve --embedded`), shared by every admin
/// command.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "The TOML configuration file.")
    var config: String = "/etc/mailbridge/mailbridge.toml"

    @Flag(help: "Use the embedded default configuration, as `serve --embedded` does, instead of a file.")
    var embedded = false

    @Option(name: .customLong("data-dir"), help: "With --embedded: the data folder (absolute path).")
    var dataDir: String?

    func validate() throws {
        if embedded {
            guard let dataDir, (try? AbsolutePath(dataDir)) != nil else {
                throw ValidationError("--embedded needs --data-dir with an absolute path")
            }
        } else if dataDir != nil {
            throw ValidationError("--data-dir goes with --embedded")
        }
    }

    /// Runs `body` on the opened installation and maps the result to output and exit status.
    func run(_ body: (OpenedInstallation, Logger) async throws -> AdminResult) async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "mailbridge")
        let result = if embedded, let dataDir, let folder = try? AbsolutePath(dataDir) {
            await AdminSession.run(configuration: .embeddedDefault(dataFolder: folder), logger: logger) {
                try await body($0, logger)
            }
        } else {
            await AdminSession.run(configFile: config, logger: logger) { try await body($0, logger) }
        }
        if !result.output.isEmpty { print(result.output) }
        if !result.errorOutput.isEmpty { StandardError.write("mailbridge: \(result.errorOutput)\n") }
        if result.status != .success { throw ExitCode(result.status.rawValue) }
    }
}

let adminExitCodes = "Exit codes: 0 done, 1 failure, 2 usage error, 3 invalid configuration."

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish the mailboxes' gateway keys and manage their lifecycle.",
        subcommands: [KeysExport.self, KeysWKD.self, KeysStatus.self, KeysRotate.self, KeysRevoke.self,
                      KeysRevocation.self])
}

struct KeysExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Print the armored public gateway key(s).", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this mailbox address.") var mailbox: String?

    func run() async throws {
        try await options.run { installation, _ in try await KeysAdmin.export(installation, mailbox: mailbox) }
    }
}

struct KeysWKD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wkd",
        abstract: "Write Web Key Directory files (advanced and direct method) below DIR, one folder per host.",
        discussion: "Serve DIR/<host>/.well-known/ from that host's web server. " + adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "The output folder (absolute path).") var out: String

    func validate() throws {
        guard out.hasPrefix("/") else { throw ValidationError("--out must be an absolute path") }
    }

    func run() async throws {
        try await options.run { installation, _ in
            try await KeysAdmin.writeWKD(installation, to: URL(fileURLWithPath: out))
        }
    }
}

struct Threads: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List threads.", subcommands: [ThreadsList.self])
}

struct ThreadsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List threads (metadata only), most recent first.", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this counselling field.") var field: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in try await ThreadsAdmin.list(installation, field: field, json: json) }
    }
}

struct ThreadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thread", abstract: "Show one thread.", subcommands: [ThreadShow.self])
}

struct ThreadShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a thread's decrypted messages (for the administrator on the server).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The thread ID (32 hex characters).") var id: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in try await ThreadsAdmin.show(installation, id: id, json: json) }
    }
}

struct Reply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue a counsellor reply: encrypted to the client, or only a reply-waiting notice if the client "
            + "key is missing, expired or revoked.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The thread ID.") var id: String
    @Option(name: .customLong("text-file"), help: "The reply text (UTF-8).") var textFile: String

    func run() async throws {
        try await options.run { installation, logger in
            try await ThreadsAdmin.reply(installation, id: id, textFile: textFile, logger: logger)
        }
    }
}

struct Queue: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect the outbound queue.", subcommands: [QueueList.self])
}

struct QueueList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List outbox rows: ID, kind, state, attempts, next attempt (no recipients).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in try await QueueAdmin.list(installation, json: json) }
    }
}

struct Spool: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and resolve spool entries that could not be read (spool/quarantine), and rejected "
            + "encrypted messages kept sealed (--rejected).",
        subcommands: [SpoolList.self, SpoolReinject.self, SpoolDelete.self])
}

struct SpoolList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List quarantined entries: name, cause, time, size (never content); on PostgreSQL also the "
            + "shared spool's waiting count and its damaged rows.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "List rejected encrypted messages kept sealed instead (name, reason, times, size).")
    var rejected = false

    func run() async throws {
        try await options.run { installation, _ in
            rejected ? try await RejectedAdmin.list(installation, json: json)
                     : try await SpoolAdmin.list(installation, json: json)
        }
    }
}

struct SpoolReinject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reinject",
        abstract: "Put a quarantined entry back for processing (with --to when its envelope is missing or broken).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The entry's name, as `spool list` shows it.") var name: String
    @Option(help: "A recipient (a counselling address); repeat for several. Replaces the entry's envelope.")
    var to: [String] = []
    @Option(help: "With --to: the envelope sender (default: the null sender, so no reply is sent).")
    var from: String?
    @Flag(help: "Re-inject a rejected encrypted message kept sealed (its own envelope; no --to or --from).")
    var rejected = false

    func validate() throws {
        if rejected, !to.isEmpty || from != nil { throw ValidationError("--rejected goes without --to and --from") }
    }

    func run() async throws {
        try await options.run { installation, _ in
            rejected ? try await RejectedAdmin.reinject(installation, name: name)
                     : try await SpoolAdmin.reinject(installation, name: name, to: to, from: from)
        }
    }
}

struct SpoolDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a quarantined entry for good (--shared: a damaged row of the shared spool on PostgreSQL).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The entry's name, as `spool list` shows it.") var name: String
    @Flag(help: "Confirm the deletion.") var yes = false
    @Flag(help: "Delete a rejected encrypted message kept sealed.") var rejected = false
    @Flag(help: "Delete a damaged row of the shared spool (PostgreSQL), by its queue ID.") var shared = false

    func validate() throws {
        guard yes else { throw ValidationError("deleting a spool entry cannot be undone: add --yes") }
        if rejected && shared { throw ValidationError("--rejected and --shared exclude each other") }
    }

    func run() async throws {
        try await options.run { installation, _ in
            if rejected { return try await RejectedAdmin.delete(installation, name: name) }
            if shared { return try await SpoolAdmin.deleteShared(installation, queue: name) }
            return try await SpoolAdmin.delete(installation, name: name)
        }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one archive of the store, spool and GnuPG home, sealed under the master key (not in it).",
        discussion: "Works while the gateway runs; see docs/operations.md. " + adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "The backup file to create (must not exist).") var out: String

    func run() async throws {
        try await options.run { installation, _ in
            let text = options.embedded ? Data(installation.configuration.tomlText.utf8)
                : FileManager.default.contents(atPath: options.config) ?? Data()
            return try await RecoveryAdmin.backup(installation, to: URL(fileURLWithPath: out),
                                                  configurationText: text)
        }
    }
}
