// `mailbridge keys status|rotate|revoke|revocation` (issue 20): argument parsing only; the logic is in
// MailBridge (`GatewayKeysAdmin`, `GatewayKeyLifecycle`).

import ArgumentParser
import MailBridge

struct KeysStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List every gateway key: mailbox, fingerprint, creation, expiry, state.",
        discussion: "States: current, overlap (replaced, still decrypts), retired, revoked. Exits 1 when a current "
            + "key expires within 30 days. " + adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in try await GatewayKeysAdmin.status(installation, json: json) }
    }
}

struct KeysRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Make a new gateway key current; the old one decrypts for gateway-key-overlap-days.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "The mailbox address.") var mailbox: String

    func run() async throws {
        try await options.run { installation, _ in try await GatewayKeysAdmin.rotate(installation, mailbox: mailbox) }
    }
}

struct KeysRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a gateway key (default: the current one, which a new key replaces at once).",
        discussion: "Uses the revocation certificate kept for the key; WKD then serves the revocation. "
            + adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "The mailbox address.") var mailbox: String
    @Option(help: "Why (kept sealed in the store, for the record).") var reason: String
    @Option(help: "Another key of the mailbox (fingerprint) instead of the current one.") var key: String?

    func run() async throws {
        try await options.run { installation, _ in
            try await GatewayKeysAdmin.revoke(installation, mailbox: mailbox, key: key, reason: reason)
        }
    }
}

struct KeysRevocation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revocation",
        abstract: "Print a gateway key's revocation certificate (armored), to keep offline.",
        discussion: "Importing it revokes the key for good. " + adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "The mailbox address.") var mailbox: String
    @Option(help: "Another key of the mailbox (fingerprint) instead of the current one.") var key: String?

    func run() async throws {
        try await options.run { installation, _ in
            try await GatewayKeysAdmin.revocation(installation, mailbox: mailbox, key: key)
        }
    }
}
