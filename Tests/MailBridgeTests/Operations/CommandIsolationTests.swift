import Foundation
import TestSupport
import Testing

/// Issue 29, "Isolation everywhere", for the command line: every `mailbridge` command that takes an ID (a thread,
/// an account, a token, an organisation, a mailbox, a key, a field, a spool entry, a webhook event) has a case
/// here saying how it keeps the installation's administrator out of the organisations' content. The command tree is
/// read from the built executable (`--experimental-dump-help`), so a command added without a case fails the test.
/// The commands that would show or write content are run against an installation with `[[organisation]]` and must
/// be refused.
@Suite struct CommandIsolationTests {
    enum Case {
        /// Shows or writes a thread's content: refused with `[[organisation]]`; `arguments` after the command's
        /// name (`{id}`: a thread ID), `refusal`: a text of the refusal.
        case refused(arguments: [String], refusal: String)
        /// Takes an ID but shows or changes no client content: why.
        case noContent(String)
    }

    static let cases: [String: Case] = [
        "thread show": .refused(arguments: ["{id}"], refusal: "opens no thread"),
        "reply": .refused(arguments: ["{id}", "--text-file", "{file}"], refusal: "writes no reply"),
        "threads list": .noContent("thread IDs, fields, states, dates and counts: metadata"),
        "keys export": .noContent("a mailbox's public key"),
        "keys rotate": .noContent("a mailbox's gateway key; no thread is read"),
        "keys revoke": .noContent("a mailbox's gateway key; no thread is read"),
        "keys revocation": .noContent("a mailbox's revocation certificate; no thread is read"),
        "spool reinject": .noContent("puts a quarantined entry back for the pipeline; prints nothing of it"),
        "spool delete": .noContent("deletes a quarantined entry; prints nothing of it"),
        "users add": .noContent("with [[organisation]] only administrators that read no thread (OrganisationsCommandTests)"),
        "users list": .noContent("staff names and roles of an organisation"),
        "users fields": .noContent("refused for accounts of an organisation (OrganisationsCommandTests)"),
        "users move": .noContent("the account arrives reading no thread (OrganisationsCommandTests)"),
        "users disable": .noContent("takes access away only"),
        "users enable": .noContent("gives back what the organisation's administrator gave"),
        "users reset": .noContent("refused for accounts that read threads (OrganisationsCommandTests)"),
        "users delete": .noContent("takes access away only"),
        "users notify": .noContent("where an account's content-free notices go"),
        "tokens add": .noContent("refused for every organisation's account (OrganisationsCommandTests)"),
        "tokens revoke": .noContent("takes access away only"),
        "audit": .noContent("audit rows: codes, opaque IDs, counts"),
        "webhooks retry": .noContent("sends an event again: event type, opaque IDs and times"),
        "organisations shred": .noContent("destroys an organisation; reads nothing of it"),
    ]

    /// Parameters that name something: positional arguments, and these options.
    static let naming: Set<String> = ["thread", "account", "organisation", "mailbox", "key", "field"]

    @Test func everyCommandThatTakesAnIDHasAnIsolationCase() async throws {
        let commands = UsersCommandTests()
        let dump = try await commands.run(["--experimental-dump-help"])
        #expect(dump.status == 0)
        let tree = try #require(try JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any])
        var takingIDs: [String] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            let name = path + [command["commandName"] as? String ?? ""]
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            if subcommands.isEmpty, name.count > 1, name.last != "help" {
                let arguments = command["arguments"] as? [[String: Any]] ?? []
                let names = arguments.contains { argument in
                    let value = argument["valueName"] as? String ?? ""
                    return argument["kind"] as? String == "positional" || Self.naming.contains(value)
                }
                if names { takingIDs.append(name.dropFirst().joined(separator: " ")) }
            }
            for subcommand in subcommands { walk(subcommand, name) }
        }
        walk(try #require(tree["command"] as? [String: Any]), [])
        #expect(takingIDs.contains("thread show") && takingIDs.contains("users reset"), "\(takingIDs)")
        let missing = takingIDs.filter { Self.cases[$0] == nil }
        #expect(missing.isEmpty, "commands that take an ID without an isolation case: \(missing)")
        let stale = Set(Self.cases.keys).subtracting(takingIDs)
        #expect(stale.isEmpty, "cases for commands that are gone or take no ID: \(stale.sorted())")

        // The refused ones, on an installation with [[organisation]].
        let (folder, config) = try await commands.initialised()
        defer { UsersCommandTests.remove(folder) }
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "field = \"allgemein\"\n",
                                         with: "field = \"allgemein\"\norganisation = \"org-a\"\n")
        text += "\n[[organisation]]\nid = \"org-a\"\nname = \"Beratung A\"\n"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let file = folder.path + "/reply.txt"
        try "Antwort".write(toFile: file, atomically: true, encoding: .utf8)
        for (command, check) in Self.cases.sorted(by: { $0.key < $1.key }) {
            guard case .refused(let arguments, let refusal) = check else { continue }
            let filled = arguments.map {
                $0.replacingOccurrences(of: "{id}", with: String(repeating: "0", count: 32))
                    .replacingOccurrences(of: "{file}", with: file)
            }
            let result = try await commands.run(command.split(separator: " ").map(String.init) + filled
                                                + ["--config", config])
            #expect(result.status == 2 && result.output.contains(refusal), "\(command): \(result.output)")
        }
    }
}
