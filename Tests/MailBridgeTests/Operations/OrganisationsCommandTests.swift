import Foundation
import Logging
import MailValues
import TestSupport
import Testing
import ThreadStore

@testable import MailBridge

/// Issue 29 through the built executable: `users add --organisation`, `users list --organisation`, `users move`
/// and `organisations list` (counts only) on a folder made by `init`, before and after `[[organisation]]` is added.
@Suite struct OrganisationsCommandTests {
    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await UsersCommandTests().run(arguments)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func accountsJoinMoveAndAreCountedPerOrganisation() async throws {
        let (folder, config) = try await UsersCommandTests().initialised()
        defer { UsersCommandTests.remove(folder) }
        let c = ["--config", config]
        let anna = try await run(["users", "add", "anna", "--display-name", "Anna", "--role", "counsellor",
                                  "--field", "allgemein"] + c)
        #expect(anna.status == 0, "\(anna.output)")
        let early = try await run(["users", "add", "otto", "--display-name", "O", "--role", "teamlead",
                                   "--organisation", "org-a"] + c)
        #expect(early.status == 2 && early.output.contains("has none"), "\(early.output)")
        let implicit = try await run(["organisations", "list"] + c)
        #expect(implicit.status == 0 && implicit.output.contains("one implicit organisation with 1 accounts"),
                "\(implicit.output)")

        // The administrator divides the installation: the one mailbox goes to org-a; org-b has none yet.
        var text = try String(contentsOfFile: config, encoding: .utf8)
        let before = text
        text = text.replacingOccurrences(of: "field = \"allgemein\"\n",
                                         with: "field = \"allgemein\"\norganisation = \"org-a\"\n")
        text += "\n[[organisation]]\nid = \"org-a\"\nname = \"Beratung A\"\n"
            + "\n[[organisation]]\nid = \"org-b\"\nname = \"Beratung B\"\n"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try await run(["check-config"] + c).status == 0)

        let missing = try await run(["users", "add", "bert", "--display-name", "B", "--role", "counsellor",
                                     "--field", "allgemein"] + c)
        #expect(missing.status == 2 && missing.output.contains("--organisation is required"), "\(missing.output)")
        let wrongField = try await run(["users", "add", "bert", "--display-name", "B", "--role", "counsellor",
                                        "--field", "allgemein", "--organisation", "org-b"] + c)
        #expect(wrongField.status == 2 && wrongField.output.contains("organisation"), "\(wrongField.output)")
        let unknown = try await run(["users", "add", "bert", "--display-name", "B", "--role", "counsellor",
                                     "--field", "allgemein", "--organisation", "org-c"] + c)
        #expect(unknown.status == 2, "\(unknown.output)")
        // The installation's administrator makes each organisation's first administrator, who reads no thread;
        // counsellors and team lead are that administrator's to make (issue 29, roles).
        for role in ["counsellor", "teamlead"] {
            let content = try await run(["users", "add", "bert", "--display-name", "B", "--role", role,
                                         "--field", "allgemein", "--organisation", "org-a"] + c)
            #expect(content.status == 2 && content.output.contains("makes only an organisation's administrator"),
                    "\(content.output)")
        }
        let withField = try await run(["users", "add", "bert", "--display-name", "B", "--role", "administrator",
                                       "--field", "allgemein", "--organisation", "org-a"] + c)
        #expect(withField.status == 2 && withField.output.contains("no --field"), "\(withField.output)")
        let admin = try await run(["users", "add", "bert", "--display-name", "B", "--role", "administrator",
                                   "--organisation", "org-a"] + c)
        #expect(admin.status == 0 && admin.output.contains("(administrator)"), "\(admin.output)")
        #expect(try await run(["users", "add", "lena", "--display-name", "L", "--role", "administrator",
                               "--organisation", "org-b"] + c).status == 0)
        #expect(try await run(["users", "add", "otto", "--display-name", "O", "--role", "admin",
                               "--organisation", "org-b"] + c).status == 2, "\"admin\" is ambiguous")

        let listed = try await run(["users", "list", "--organisation", "org-a", "--json"] + c)
        let accounts = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
        #expect(accounts.map { $0["username"] as? String } == ["bert"])
        #expect(accounts.first?["organisation"] as? String == "org-a")
        #expect(accounts.first?["role"] as? String == "administrator" && accounts.first?["administers"] as? Bool == true)

        var counts = try json(try await run(["organisations", "list", "--json"] + c).output)
        var organisations = try #require(counts["organisations"] as? [[String: Any]])
        #expect(organisations.map { $0["id"] as? String } == ["org-a", "org-b"])
        #expect(organisations.map { $0["accounts"] as? Int } == [1, 1])
        #expect(organisations.first?["fields"] as? [String] == ["allgemein"])
        #expect(counts["accountsWithoutOrganisation"] as? Int == 1, "anna belongs to none and cannot log in")
        let plain = try await run(["organisations", "list"] + c)
        #expect(plain.output.contains("1 accounts belong to no configured organisation"), "\(plain.output)")
        for name in ["anna", "bert", "lena", "Anna", "allgemein@"] {
            #expect(!plain.output.contains(name), "organisations list names no one: \(name)")
        }

        // Anna reads threads: no password, token or field change for her from the command line any more; the
        // administrator (who reads none) may be reset, so an organisation that lost its administrator's password
        // gets back in.
        for command in [["users", "reset", "anna"], ["tokens", "add", "anna", "--label", "x"],
                        ["users", "fields", "anna", "--field", "allgemein"]] {
            let refused = try await run(command + c)
            #expect(refused.status == 1 && refused.output.contains("/admin/accounts"), "\(command): \(refused.output)")
        }
        let reset = try await run(["users", "reset", "bert"] + c)
        #expect(reset.status == 0 && reset.output.contains("new password"), "\(reset.output)")

        // A move hands no threads over: the account arrives reading none, with no tokens (its new organisation's
        // administrator gives it a role and fields); --field is refused, and so is a move where it is already.
        #expect(try await run(["users", "move", "anna", "--organisation", "org-c"] + c).status == 2)
        let moveField = try await run(["users", "move", "anna", "--organisation", "org-a", "--field", "allgemein"] + c)
        #expect(moveField.status == 2 && moveField.output.contains("--field is not taken"), "\(moveField.output)")
        let moved = try await run(["users", "move", "anna", "--organisation", "org-a"] + c)
        #expect(moved.status == 0 && moved.output.contains("now belongs to org-a"), "\(moved.output)")
        #expect(try await run(["users", "move", "anna", "--organisation", "org-a"] + c).status == 2)
        let arrived = try #require(try JSONSerialization.jsonObject(with: Data(try await run(
            ["users", "list", "--organisation", "org-a", "--json"] + c).output.utf8)) as? [[String: Any]])
            .first { $0["username"] as? String == "anna" }
        #expect(arrived?["fields"] as? [String] == [] && arrived?["role"] as? String == "counsellor",
                "\(String(describing: arrived))")
        counts = try json(try await run(["organisations", "list", "--json"] + c).output)
        organisations = try #require(counts["organisations"] as? [[String: Any]])
        #expect(organisations.map { $0["accounts"] as? Int } == [2, 1])
        #expect(counts["accountsWithoutOrganisation"] as? Int == 0)

        // A copy of the configuration without [[organisation]] does not lift the refusals: an account of an
        // organisation that reads threads (made team lead by its administrator) gets no password, token or fields.
        let result = await AdminSession.run(configFile: config, logger: LogCapture().logger()) { installation in
            let bert = try #require(try await installation.stores.webState.account(named: "bert"))
            try await installation.stores.accounts.setRole(.teamLead, administers: true, fields: [], of: bert.id,
                                                           in: bert.organisation,
                                                           actor: nil, via: .browser)
            return AdminResult(output: "")
        }
        #expect(result.status == .success, "\(result.errorOutput)")
        let copy = folder.path + "/implicit.toml"
        try before.write(toFile: copy, atomically: true, encoding: .utf8)
        for command in [["users", "reset", "bert"], ["tokens", "add", "bert", "--label", "x"],
                        ["users", "fields", "bert", "--field", "allgemein"]] {
            let refused = try await run(command + ["--config", copy])
            #expect(refused.status == 1 && refused.output.contains("/admin/accounts"), "\(command): \(refused.output)")
        }
        let audit = try await run(["audit", "--json"] + c)
        #expect(audit.output.contains("accountOrganisationChanged"), "\(audit.output)")
        let ofB = try await run(["audit", "--organisation", "org-b", "--json"] + c)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(ofB.output.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["event"] as? String } == ["accountCreated"], "lena's creation only: \(ofB.output)")
        #expect(try await run(["audit", "--organisation", "org-c"] + c).status == 2)

        // The installation's administrator opens no thread and writes no reply once there are organisations.
        let show = try await run(["thread", "show", String(repeating: "0", count: 32)] + c)
        #expect(show.status == 2 && show.output.contains("opens no thread"), "\(show.output)")
        let replyFile = folder.path + "/reply.txt"
        try "Antwort".write(toFile: replyFile, atomically: true, encoding: .utf8)
        let reply = try await run(["reply", String(repeating: "0", count: 32), "--text-file", replyFile] + c)
        #expect(reply.status == 2 && reply.output.contains("writes no reply"), "\(reply.output)")
    }

    /// Keys per organisation through the executable: `init` makes each organisation's key file (0600, kept when
    /// run again); `organisations shred` needs the ID twice, deletes the organisation's accounts and its mailbox's
    /// gateway key, destroys its key file, audits both in the installation's log, and leaves the other organisation
    /// and its key alone.
    @Test func initMakesOrganisationKeysAndShredDestroysOneOrganisation() async throws {
        let (folder, config) = try await UsersCommandTests().initialised()
        defer { UsersCommandTests.remove(folder) }
        let c = ["--config", config]
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "field = \"allgemein\"\n",
                                         with: "field = \"allgemein\"\norganisation = \"org-a\"\n")
        text += "\n[[mailbox]]\naddress = \"familie@example.org\"\nfield = \"familie\"\n"
            + "team-notification-address = \"team-b@example.org\"\n"
            + "redirect-link = \"https://beratung.example/login\"\norganisation = \"org-b\"\n"
            + "\n[[organisation]]\nid = \"org-a\"\nname = \"Beratung A\"\n"
            + "\n[[organisation]]\nid = \"org-b\"\nname = \"Beratung B\"\n"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let check = try await run(["check-config"] + c)
        #expect(check.status == 0, "\(check.output)")
        let made = try await run(["init", "--data-dir", folder.path + "/data", "--config", config])
        #expect(made.status == 0, "\(made.output)")
        let keyA = folder.path + "/data/organisations/org-a.key", keyB = folder.path + "/data/organisations/org-b.key"
        for path in [keyA, keyB] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600 && (attributes[.size] as? Int) == 32, "\(path)")
        }
        let keptA = try Data(contentsOf: URL(fileURLWithPath: keyA))
        #expect(try await run(["init", "--data-dir", folder.path + "/data", "--config", config]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: keyA)) == keptA, "init never replaces a key")

        #expect(try await run(["users", "add", "lena", "--display-name", "L", "--role", "administrator",
                               "--organisation", "org-b"] + c).status == 0)
        #expect(try await run(["users", "add", "anna", "--display-name", "A", "--role", "administrator",
                               "--organisation", "org-a"] + c).status == 0)
        let keys = try await run(["keys", "status", "--json"] + c)
        #expect(keys.output.contains("familie@example.org"), "\(keys.output)")

        // Mail of each organisation outside threads: waiting in the spool, and kept after a rejection.
        let spool = try SpoolIntake(root: URL(fileURLWithPath: folder.path + "/data/spool"))
        var kept: [String: String] = [:]
        for (organisation, address) in [("org-a", "allgemein@example.org"), ("org-b", "familie@example.org")] {
            let envelope = InboundMessage.Envelope(
                reversePath: .mailbox(try EmailAddress("klient@example.net")),
                recipients: [try EmailAddress("fremd@example.net"), try EmailAddress(address)], clientAddress: nil,
                receivedAt: Date(), queueID: QueueID.make(millisecondsSince1970: 1000))
            _ = try spool.inject(Data("Subject: \(organisation)\r\n\r\nText\r\n".utf8), envelope: envelope)
            let id = "rejected-" + organisation
            kept[organisation] = id
            let result = await AdminSession.run(configFile: config, logger: LogCapture().logger()) { installation in
                _ = try await installation.stores.inbound.keepRejected(RejectedMessage(
                    id: id, reason: 1, rejectedAt: Date(), envelope: try JSONEncoder().encode(EnvelopeRecord(envelope)),
                    message: Data("x".utf8)))
                return AdminResult(output: "")
            }
            #expect(result.status == .success, "\(result.errorOutput)")
        }
        #expect(try spool.pending().count == 2)

        // Never beside a running gateway (it holds the daemon lock and the organisation's key).
        let running = try OfflineClaim.take(gnupgHome: folder.path + "/data/gnupg")
        let refused = try await run(["organisations", "shred", "org-b", "--confirm", "org-b"] + c)
        running.release()
        #expect(refused.status == 1 && refused.output.contains("the gateway is running"), "\(refused.output)")
        #expect(FileManager.default.fileExists(atPath: keyB))

        let unconfirmed = try await run(["organisations", "shred", "org-b", "--confirm", "org-a"] + c)
        #expect(unconfirmed.status == 2 && FileManager.default.fileExists(atPath: keyB), "\(unconfirmed.output)")
        #expect(try await run(["organisations", "shred", "org-x", "--confirm", "org-x"] + c).status == 2)
        let shred = try await run(["organisations", "shred", "org-b", "--confirm", "org-b", "--json"] + c)
        #expect(shred.status == 0, "\(shred.output)")
        let report = try json(shred.output)
        #expect(report["accounts"] as? Int == 1 && report["threads"] as? Int == 0, "\(shred.output)")
        #expect(report["spooledMessages"] as? Int == 1 && report["rejectedMessages"] as? Int == 1, "\(shred.output)")
        // org-a's waiting and kept mail stays.
        #expect(try spool.pending().map { $0.envelope.recipients.last?.canonical } == ["allgemein@example.org"])
        #expect((report["gatewayKeys"] as? [String])?.count == 1, "\(shred.output)")
        #expect(report["keyFile"] as? String == keyB)
        #expect(!FileManager.default.fileExists(atPath: keyB) && FileManager.default.fileExists(atPath: keyA))
        let fingerprint = try #require((report["gatewayKeys"] as? [String])?.first)
        let listed = try Shell.run("gpg", ["--homedir", folder.path + "/data/gnupg", "--list-secret-keys",
                                           "--with-colons"], allowFailure: true).stdout.text
        #expect(!listed.uppercased().contains(fingerprint.uppercased()), "the gateway key left the keyring")

        // Until the organisation leaves the configuration, nothing opens (its mailbox's key is gone), saying why.
        let closed = try await run(["users", "list"] + c)
        #expect(closed.status != 0 && closed.output.contains("organisations shred"), "\(closed.output)")
        text = try String(contentsOfFile: config, encoding: .utf8)
        text = String(text[..<text.range(of: "\n[[mailbox]]\naddress = \"familie@example.org\"")!.lowerBound])
            + "\n[[organisation]]\nid = \"org-a\"\nname = \"Beratung A\"\n"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let audit = try await run(["audit", "--json"] + c)
        #expect(audit.output.contains("organisationShredded") && audit.output.contains("organisationGatewayKeysRetired"),
                "\(audit.output)")
        let users = try await run(["users", "list", "--json"] + c)
        #expect(!users.output.contains("lena") && users.output.contains("anna"), "\(users.output)")
        // Run again once the organisation has left the configuration: nothing of it is left to find.
        let again = try await run(["organisations", "shred", "org-b", "--confirm", "org-b"] + c)
        #expect(again.status == 2 && again.output.contains("nothing of an organisation org-b"), "\(again.output)")
    }
}
