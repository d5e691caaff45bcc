import Foundation
import Logging
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// `mailbridge users …` and `tokens …` through the built executable on a folder made by `init`.
@Suite struct UsersCommandTests {
    /// Runs the executable on a Dispatch thread, so the waiting does not block a thread of Swift's (small)
    /// cooperative pool that the other tests run on.
    func run(_ arguments: [String], input: String? = nil) async throws -> (status: Int32, output: String) {
        let binary = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runProcess(binary, arguments, input: input) })
            }
        }
    }

    /// A folder made by `init` (data below `data`, the configuration at `etc/mailbridge.toml`) and its file.
    func initialised() async throws -> (TemporaryFolder, String) {
        let folder = try TemporaryFolder()
        let config = folder.path + "/etc/mailbridge.toml"
        let made = try await run(["init", "--data-dir", folder.path + "/data", "--config", config])
        #expect(made.status == 0, "\(made.output)")
        return (folder, config)
    }

    /// Stops the folder's gpg-agent and removes the folder.
    static func remove(_ folder: TemporaryFolder) {
        _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"], allowFailure: true)
        folder.remove()
    }

    @Test func usersAndTokens() async throws {
        let folder = try TemporaryFolder()
        let config = folder.path + "/etc/mailbridge.toml"
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"], allowFailure: true)
            folder.remove()
        }
        #expect(try await run(["init", "--data-dir", folder.path + "/data", "--config", config]).status == 0)
        let c = ["--config", config]

        let added = try await run(["users", "add", "anna", "--display-name", "Anna Beispiel", "--role", "counsellor",
                             "--field", "allgemein"] + c)
        #expect(added.status == 0, "\(added.output)")
        let generated = try #require(added.output.split(separator: "\n")
            .first { $0.hasPrefix("initial password (shown once): ") }?.split(separator: " ").last.map(String.init))
        #expect(PasswordPolicy.check(generated) == .acceptable)

        let duplicate = try await run(["users", "add", "ANNA", "--display-name", "X", "--role", "teamlead"] + c)
        #expect(duplicate.status == 1 && duplicate.output.contains("exists already") && !duplicate.output.contains("ANNA"))
        let badField = try await run(["users", "add", "bert", "--display-name", "B", "--role", "counsellor",
                                "--field", "nosuchfield"] + c)
        #expect(badField.status == 2 && badField.output.contains("configured mailbox"))
        #expect(try await run(["users", "add", "bert", "--display-name", "B", "--role", "boss", "--field", "allgemein"] + c)
            .status == 2)
        let weak = try await run(["users", "add", "carl", "--display-name", "C", "--role", "teamlead", "--password-stdin"] + c,
                           input: "kurz\n")
        #expect(weak.status == 2 && weak.output.contains("at least 12") && !weak.output.contains("kurz\n"))
        let chosen = "Ein-langes-Passwort-2026"
        let carl = try await run(["users", "add", "carl", "--display-name", "Carl C", "--role", "teamlead", "--language", "en",
                            "--password-stdin"] + c, input: chosen + "\n")
        #expect(carl.status == 0 && !carl.output.contains(chosen) && !carl.output.contains("initial password"))

        let listed = try await run(["users", "list", "--json"] + c)
        #expect(listed.status == 0)
        let accounts = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]
        #expect(accounts?.map { $0["username"] as? String } == ["anna", "carl"])
        #expect(accounts?.first?["fields"] as? [String] == ["allgemein"])
        #expect(accounts?.last?["role"] as? String == "teamlead" && accounts?.last?["language"] as? String == "en")
        // An administrator chose or saw these passwords: each account must replace its own at the first login.
        #expect(accounts?.allSatisfy { $0["passwordChangePending"] as? Bool == true } == true)
        #expect(!listed.output.contains("$2b$") && !listed.output.contains(generated))

        // The stored hashes match the printed and the piped password.
        let logger = LogCapture().logger()
        let credentials = await AdminSession.run(configFile: config, logger: logger) { installation in
            let (anna, carl) = try await installation.store.read { tx in
                (try tx.loginCredentials(username: "anna"), try tx.loginCredentials(username: "carl"))
            }
            let hasher = PasswordHasher()
            let annaOK = try await hasher.verify(generated, against: anna?.passwordHash)
            let carlOK = try await hasher.verify(chosen, against: carl?.passwordHash)
            return AdminResult(output: annaOK && carlOK ? "ok" : "mismatch")
        }
        #expect(credentials.output == "ok")

        #expect(try await run(["users", "fields", "anna", "--field", "nosuchfield"] + c).status == 2)
        #expect(try await run(["users", "fields", "anna"] + c).status == 2)
        #expect(try await run(["users", "fields", "anna", "--field", "ALLGEMEIN"] + c).status == 0)

        let token = try await run(["tokens", "add", "anna", "--label", "platform"] + c)
        #expect(token.status == 0)
        let secret = try #require(token.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").last.map(String.init))
        #expect(secret.hasPrefix("mbt_") && secret.count == 68)
        let tokenID = try #require(token.output.split(separator: "\n").first?.split(separator: " ").last.map(String.init))
        let tokens = try await run(["tokens", "list"] + c)
        #expect(tokens.output.contains(tokenID) && tokens.output.contains("platform") && !tokens.output.contains(secret))
        #expect(try await run(["tokens", "revoke", tokenID] + c).status == 0)
        #expect(try await run(["tokens", "list"] + c).output.contains("revoked:"))
        #expect(try await run(["tokens", "revoke", "nope"] + c).status == 2)
        #expect(try await run(["tokens", "revoke", String(repeating: "a", count: 32)] + c).status == 1)

        let reset = try await run(["users", "reset", "anna"] + c)
        #expect(reset.status == 0 && reset.output.contains("new password (shown once): "))
        #expect(!reset.output.contains(generated))
        #expect(try await run(["users", "disable", "anna"] + c).status == 0)
        #expect(try await run(["users", "disable", "nobody"] + c).status == 1)
        #expect(try await run(["tokens", "add", "anna", "--label", "x"] + c).status == 1)
        let final = try await run(["users", "list"] + c)
        #expect(final.output.contains("DISABLED"))
        #expect(try await run(["users", "enable", "anna"] + c).status == 0)
        #expect(try await run(["users", "enable", "nobody"] + c).status == 1)
        #expect(try await run(["users", "list"] + c).output.contains("DISABLED") == false)

        let audit = await AdminSession.run(configFile: config, logger: logger) { installation in
            let events = try await installation.store.read { tx in try tx.auditEntries() }.map(\.event)
            return AdminResult(output: events.map { "\($0)" }.joined(separator: ","))
        }
        #expect(audit.output == "accountCreated,accountCreated,accountFieldsChanged,apiTokenCreated,apiTokenRevoked,accountReset,accountDisabled,accountEnabled")

        // `mailbridge audit` prints the same log, every entry marked as coming from the command line.
        let printed = try await run(["audit", "--json"] + c)
        #expect(printed.status == 0, "\(printed.output)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(printed.output.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["event"] as? String }.compactMap { $0 }.joined(separator: ",") == audit.output)
        #expect(entries.allSatisfy { $0["channel"] as? String == "command-line" && $0["account"] == nil })
        let lastTwo = try await run(["audit", "--limit", "2"] + c)
        #expect(lastTwo.output.split(separator: "\n").map { $0.contains("via: command-line") } == [true, true])
        #expect(lastTwo.output.contains("accountDisabled") && lastTwo.output.contains("accountEnabled"))
        #expect(try await run(["audit", "--since", "2999-01-01"] + c).output.contains("no audit entries"))
        #expect(try await run(["audit", "--since", "gestern"] + c).status == 2)
        #expect(try await run(["audit", "--limit", "0"] + c).status == 2)
        #expect(try await run(["audit", "--thread", "xyz"] + c).status == 2)
        #expect(try await run(["audit", "--account", "nobody"] + c).status == 1)
        #expect(try await run(["audit", "--account", "anna"] + c).output.contains("no audit entries"))

        // users delete: only with --yes; the name is free again, the audit log keeps the ID.
        let refused = try await run(["users", "delete", "anna"] + c)
        #expect(refused.status == 2 && refused.output.contains("--yes"))
        let deleted = try await run(["users", "delete", "anna", "--yes"] + c)
        #expect(deleted.status == 0, "\(deleted.output)")
        #expect(try await run(["users", "delete", "anna", "--yes"] + c).status == 1)
        #expect(try await run(["users", "list"] + c).output.contains("anna") == false)
        #expect(try await run(["audit", "--limit", "1"] + c).output.contains("accountDeleted  via: command-line"))
        // Paging back: the two entries before the newest one.
        let newestJSON = try await run(["audit", "--limit", "1", "--json"] + c).output
        let newest = try #require(
            (try JSONSerialization.jsonObject(with: Data(newestJSON.utf8)) as? [[String: Any]])?.first?["sequence"] as? Int)
        let back = try await run(["audit", "--before", String(newest), "--limit", "2"] + c)
        #expect(back.output.contains("accountEnabled") && !back.output.contains("accountDeleted"))
        #expect(try await run(["audit", "--before", "0"] + c).status == 2)
        // A deleted account's entries stay reachable by its ID.
        let annaID = try #require(accounts?.first?["id"] as? String)
        let byID = try await run(["audit", "--account", annaID] + c)
        #expect(byID.status == 0 && byID.output.contains("no audit entries"))
    }
}
