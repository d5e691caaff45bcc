// `mailbridge users …` and `mailbridge tokens …`: argument parsing only; the logic is in MailBridge
// (`UsersAdmin`, `TokensAdmin`). A password given with --password-stdin is read from one line of standard input
// (never an argument, so it stays out of the process list and shell history).

import ArgumentParser
import Foundation
import MailBridge

/// Reads one line from standard input (the trailing newline removed), or fails with a usage error.
func passwordFromStandardInput() throws -> String {
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
        throw ValidationError("--password-stdin: standard input held no password")
    }
    return line
}

struct Users: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage counsellor accounts of the web inbox.",
        subcommands: [UsersAdd.self, UsersList.self, UsersFields.self, UsersMove.self, UsersDisable.self,
                      UsersEnable.self, UsersReset.self, UsersDelete.self, UsersNotify.self])
}

struct UsersAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Create an account. Without --password-stdin a strong initial password is generated and printed "
            + "once. The account sets up its TOTP second factor at its first login.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name (1 to 64 characters of A-Z a-z 0-9 . _ @ -).") var name: String
    @Option(name: .customLong("display-name"), help: "The name shown in the inbox.") var displayName: String
    @Option(help: ArgumentHelp("counsellor, teamlead or administrator (administers its organisation's accounts and "
        + "tokens in the web inbox, reads no thread). With [[organisation]] only administrator.")) var role: String
    @Flag(help: ArgumentHelp("A counsellor or team lead that also administers its organisation's accounts."))
    var administrator = false
    @Option(help: "A counselling field of a configured mailbox (repeatable).") var field: [String] = []
    @Option(help: "Interface language: de (default) or en.") var language: String?
    @Option(help: "The [[organisation]] id the account works for (required when the configuration has any).")
    var organisation: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from one line of standard input.")
    var passwordStdin = false

    func run() async throws {
        let password = passwordStdin ? try passwordFromStandardInput() : nil
        try await options.run { installation, _ in
            try await UsersAdmin.add(installation, username: name, displayName: displayName, role: role,
                                     fields: field, language: language, password: password,
                                     organisation: organisation, administrator: administrator)
        }
    }
}

struct UsersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List accounts (no secrets).", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Only the accounts of this [[organisation]] id.") var organisation: String?

    func run() async throws {
        try await options.run { installation, _ in
            try await UsersAdmin.list(installation, json: json, organisation: organisation)
        }
    }
}

struct UsersMove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move",
        abstract: "Move an account into another organisation ([[organisation]]): its sessions end, its tokens are "
            + "revoked, and it reads no thread until that organisation's administrator gives it a role or fields.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name.") var name: String
    @Option(help: "The [[organisation]] id.") var organisation: String
    @Option(help: ArgumentHelp("Not taken any more: the new organisation's administrator gives the fields.",
                               visibility: .hidden)) var field: [String] = []

    func run() async throws {
        try await options.run { installation, _ in
            try await UsersAdmin.move(installation, username: name, organisation: organisation, fields: field)
        }
    }
}

struct UsersFields: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fields", abstract: "Replace the counselling fields an account works in.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name.") var name: String
    @Option(help: "A counselling field of a configured mailbox (repeatable).") var field: [String] = []

    func run() async throws {
        try await options.run { installation, _ in
            try await UsersAdmin.setFields(installation, username: name, fields: field)
        }
    }
}

struct UsersDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable", abstract: "Disable an account: it cannot log in, its sessions end, its API tokens "
            + "stop working.", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name.") var name: String

    func run() async throws {
        try await options.run { installation, _ in try await UsersAdmin.disable(installation, username: name) }
    }
}

struct UsersEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable", abstract: "Enable a disabled account again: its old sessions stay ended, its API "
            + "tokens that were not revoked work again.", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name.") var name: String

    func run() async throws {
        try await options.run { installation, _ in try await UsersAdmin.enable(installation, username: name) }
    }
}

struct UsersReset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset", abstract: "Set a new password (generated and printed once, or from standard input), "
            + "remove the second factor and end all sessions.", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name.") var name: String
    @Flag(name: .customLong("password-stdin"), help: "Read the password from one line of standard input.")
    var passwordStdin = false

    func run() async throws {
        let password = passwordStdin ? try passwordFromStandardInput() : nil
        try await options.run { installation, _ in
            try await UsersAdmin.reset(installation, username: name, password: password)
        }
    }
}

struct UsersDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete an account for good: its name, password, second factor, sessions "
            + "and API tokens. Its threads stay; the audit log keeps its opaque ID.", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name.") var name: String
    @Flag(help: "Confirm: this cannot be undone.") var yes = false

    func run() async throws {
        try await options.run { installation, _ in
            try await UsersAdmin.delete(installation, username: name, confirmed: yes)
        }
    }
}

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API tokens for a platform integration (JSON API).",
        subcommands: [TokensAdd.self, TokensList.self, TokensRevoke.self])
}

struct TokensAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Create an API token acting as an account; printed once.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name of the account the token acts as.") var name: String
    @Option(help: "What the token is for (1 to 64 characters).") var label: String

    func run() async throws {
        try await options.run { installation, _ in
            try await TokensAdmin.add(installation, username: name, label: label)
        }
    }
}

struct TokensList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List API tokens (IDs, accounts, labels; never the secret).",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in try await TokensAdmin.list(installation, json: json) }
    }
}

struct TokensRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke an API token by its ID.", discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The token ID (32 hex characters, from tokens list).") var id: String

    func run() async throws {
        try await options.run { installation, _ in try await TokensAdmin.revoke(installation, id: id) }
    }
}
