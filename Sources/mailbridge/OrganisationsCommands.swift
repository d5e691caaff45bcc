// `mailbridge organisations`: argument parsing only; the logic is in MailBridge (`OrganisationsAdmin`).

import ArgumentParser
import MailBridge

struct Organisations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the organisations sharing this installation ([[organisation]]), with counts only.",
        subcommands: [OrganisationsList.self])
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
