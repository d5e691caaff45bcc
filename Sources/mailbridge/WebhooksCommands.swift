// `mailbridge webhooks`: argument parsing only; the logic is in MailBridge (`WebhooksAdmin`).

import ArgumentParser
import MailBridge
import ThreadStore

struct Webhooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the events sent to the platform's webhook ([webhook]) and make signing secrets.",
        subcommands: [WebhooksList.self, WebhooksRetry.self, WebhooksDisable.self, WebhooksNewSecret.self])
}

struct WebhooksList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List webhook events, newest first: ID, type, time, delivery state, attempts, last answer "
            + "(IDs and times only).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only events in this state: pending, delivered or failed.") var state: String?
    @Option(help: "At most this many events (1 to 10000).") var limit = 100
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let state, !WebhookDeliveryState.allCases.contains(where: { $0.description == state }) {
            throw ValidationError("--state is pending, delivered or failed")
        }
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit is 1 to 10000") }
    }

    func run() async throws {
        let state = WebhookDeliveryState.allCases.first { $0.description == self.state }
        try await options.run { installation, _ in
            try await WebhooksAdmin.list(installation, state: state, limit: limit, json: json)
        }
    }
}

struct WebhooksRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Send a given-up (failed) event again.", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The event's ID, as `webhooks list` shows it.") var id: String

    func run() async throws {
        try await options.run { installation, _ in try await WebhooksAdmin.retry(installation, id: id) }
    }
}

struct WebhooksDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Stop recording webhook events on every node (after [webhook] was removed from each).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try await options.run { installation, _ in try await WebhooksAdmin.disable(installation) }
    }
}

struct WebhooksNewSecret: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new-secret",
        abstract: "Print a new signing secret (whsec_…): a line for [webhook] secret-file, and the platform's copy.")

    func run() {
        print(WebhooksAdmin.newSecret().output)
    }
}
