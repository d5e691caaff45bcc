// `mailbridge organisations`: argument parsing only; the logic is in MailBridge (`OrganisationsAdmin`).

import ArgumentParser
import MailBridge

struct Organisations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the organisations sharing this installation ([[organisation]]), with counts only, or shred one.",
        subcommands: [OrganisationsList.self, OrganisationsShred.self])
}

struct OrganisationsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the configured organisations: ID, name, fields and counts of mailboxes, accounts and "
            + "threads (never content, subjects or addresses).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in try await OrganisationsAdmin.list(installation, json: json) }
    }
}

struct OrganisationsShred: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shred",
        abstract: "Crypto-shred an organisation: delete its threads, accounts and its mailboxes' gateway keys, "
            + "then destroy its master key file. Cannot be undone.",
        discussion: "Stop the gateway first (on PostgreSQL every node, and run the command on each). Afterwards "
            + "remove the [[organisation]] and its [[mailbox]] tables from the configuration. " + adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The organisation's ID.") var id: String
    @Option(help: "The organisation's ID again, to confirm.") var confirm: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in
            try await OrganisationShredding.shred(installation, id: id, confirm: confirm, json: json)
        }
    }
}
