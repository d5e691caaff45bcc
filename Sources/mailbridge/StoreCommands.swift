// `mailbridge store …`: argument parsing only; the logic is in MailBridge (`StoreSchemaMigration`).

import ArgumentParser
import Logging
import MailBridge

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Administer the thread store's database (PostgreSQL).",
        subcommands: [StoreMigrateSchema.self, StoreMigrate.self, StoreCompact.self])
}

struct StoreMigrateSchema: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-schema",
        abstract: "Migrate the PostgreSQL schema as its owner ([store] migration-user) and grant the gateway's "
            + "user its row rights.",
        discussion: """
            Run it once before starting upgraded nodes when the gateway's user does not own the schema (see \
            docs/postgresql.md, "Two roles"). Safe to run again, and from several machines at once: the schema is \
            migrated once under an advisory lock. The gateway never reads migration-password-file.
            \(adminExitCodes)
            """)

    @Option(name: .customLong("config"), help: "The TOML configuration file.")
    var config: String = "/etc/mailbridge/mailbridge.toml"

    func run() async throws {
        try await runStoreCommand(config: config) { await StoreSchemaMigration.run($0, logger: $1) }
    }
}

struct StoreCompact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Rewrite the PostgreSQL tables whose deleted rows must not linger (thread keys, the shared spool).",
        discussion: """
            Runs VACUUM (FULL) on thread_key, inbound_spool and inbound_spool_piece as the schema's owner \
            ([store] migration-user, else the gateway's user), so that a deleted thread's wrapped key and processed \
            messages leave the heap files after the next checkpoint; WAL, archives and backups keep them for as \
            long as they are kept (docs/postgresql.md, "Deleting a thread on PostgreSQL"). Each table is locked for \
            the moment of its rewrite. Run it daily on one node: systemd/mailbridge-compact.timer.
            \(adminExitCodes)
            """)

    @Option(name: .customLong("config"), help: "The TOML configuration file.")
    var config: String = "/etc/mailbridge/mailbridge.toml"

    func run() async throws {
        try await runStoreCommand(config: config) { await StoreCompaction.run($0, logger: $1) }
    }
}

struct StoreMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move the data folder's SQLite store into the configured PostgreSQL database (which must be empty).",
        discussion: """
            Stop the gateway first: the command refuses to run beside it. Every row is copied as stored (sealed \
            values stay sealed) in one transaction, then counts and per-table and per-thread digests are compared; \
            any difference moves nothing. The SQLite file is left unchanged. See docs/postgresql.md.
            \(adminExitCodes)
            """)

    @Option(name: .customLong("to"), help: "The engine to move to: postgresql.")
    var target: String

    @Option(name: .customLong("config"), help: "The TOML configuration file ([store] engine = \"postgresql\").")
    var config: String = "/etc/mailbridge/mailbridge.toml"

    func run() async throws {
        guard target == "postgresql" else {
            StandardError.write("--to: only \"postgresql\" is supported\n")
            throw ExitCode(ExitStatus.invalidConfiguration.rawValue)
        }
        try await runStoreCommand(config: config) { await StoreMove.run($0, logger: $1) }
    }
}

/// Loads `config` (status 3 when it is invalid), runs `command` and prints its outcome: standard output on
/// success, standard error with the outcome's exit status otherwise.
private func runStoreCommand(
    config: String,
    _ command: (BridgeConfiguration, Logger) async throws -> StoreSchemaMigration.Outcome
) async throws {
    let configuration: BridgeConfiguration
    do {
        configuration = try BridgeConfiguration.load(file: config)
    } catch {
        StandardError.write("\(error)\n")
        throw ExitCode(ExitStatus.invalidConfiguration.rawValue)
    }
    let outcome = try await command(configuration, Logger(label: "mailbridge.store"))
    if outcome.status == .success { print(outcome.output) } else { StandardError.write(outcome.output + "\n") }
    if outcome.status != .success { throw ExitCode(outcome.status.rawValue) }
}
