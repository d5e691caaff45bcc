import Foundation
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// `systemctl reload` (SIGHUP → `Gateway.reload(from:)`): new texts and links apply to the next mail, restart-only
/// changes are reported, and an invalid file changes nothing.
@Suite struct ConfigurationReloadTests {
    /// Issue 29: a file that hands a mailbox to another organisation is not applied by a reload at all (the web
    /// keeps the organisations it started with, so new mail must not go to a field the old owner still reaches);
    /// the running configuration stays, its link too.
    @Test func aReloadThatMovesAMailboxToAnotherOrganisationIsRefusedWhole() async throws {
        let setup = try ReloadFolder()
        defer { setup.remove() }
        let file = setup.file
        func write(organisation: String, link: String) throws {
            try setup.write(link: link) { configuration in
                configuration.mailboxes[0].organisation = try OrganisationID(organisation)
                configuration.organisations = [.init(id: try OrganisationID("org-a"), name: "A"),
                                               .init(id: try OrganisationID("org-b"), name: "B")]
            }
        }
        try write(organisation: "org-a", link: "https://alt.example/login")
        let gateway = try await Gateway.start(try BridgeConfiguration.load(file: file.path), logger: LogCapture().logger())
        try write(organisation: "org-b", link: "https://neu.example/login")
        await #expect(throws: ReloadRefused.self) { try await gateway.reload(from: file.path) }
        #expect(gateway.runner.pipeline.configuration.mailboxes.first?.link.value == "https://alt.example/login")
        // The same organisation with a new link: applied.
        try write(organisation: "org-a", link: "https://neu.example/login")
        _ = try await gateway.reload(from: file.path)
        #expect(gateway.runner.pipeline.configuration.mailboxes.first?.link.value == "https://neu.example/login")
        await gateway.listener.close()
        try await gateway.pgp.shutdown()
    }

    @Test func reloadAppliesMailboxSettingsAndReportsTheRest() async throws {
        let setup = try ReloadFolder()
        defer { setup.remove() }
        let (file, port) = (setup.file, setup.port)
        func write(link: String, port: Int = port, extra: String = "", receipts: Bool = true,
                   helpLink: String? = nil) throws {
            try setup.write(link: link, port: port, extra: extra) { configuration in
                configuration.receipt.enabled = receipts
                configuration.help.link = try helpLink.map { try RedirectLink($0) }
            }
        }
        try write(link: "https://alt.example/login")
        let gateway = try await Gateway.start(try BridgeConfiguration.load(file: file.path), logger: LogCapture().logger())
        #expect(gateway.runner.pipeline.configuration.mailboxes.first?.link.value == "https://alt.example/login")
        #expect(gateway.runner.pipeline.configuration.receiptPeriod == 86_400)

        try write(link: "https://neu.example/anmelden", port: port + 1)
        let report = try await gateway.reload(from: file.path)
        #expect(report.needsRestart == ["smtp"])
        let mailbox = try #require(gateway.runner.pipeline.configuration.mailboxes.first)
        #expect(mailbox.link.value == "https://neu.example/anmelden")
        #expect(mailbox.redirectTemplate.body.contains("https://neu.example/anmelden"))
        #expect(mailbox.autocrypt != nil)

        // The reply composer reads the same directory: a reply to a client whose key is missing sends the
        // reply-waiting notice with the new link (before issue 19 it kept the mailboxes it started with).
        let thread = try await gateway.store.write { tx in
            let message = NewMessage(direction: .inbound, messageID: "<reload@example.net>", subject: "s",
                                     body: Array("Hallo".utf8), verdict: .valid, receivedAt: Date())
            guard case .stored(let thread, _, _) = try tx.importMessage(message, into: .client(ClientIdentity(
                field: try CounsellingField("allgemein"),
                key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
                address: try ClientAddress("reload@example.net"))))
            else { throw ThreadStoreError.invalidValue }
            return thread
        }
        guard case .keyUnusable(.missing, let notice, _) = try await gateway.replies.queueReply(
            thread: thread, text: "Antwort", counsellor: nil)
        else { Issue.record("expected the reply-waiting notice"); return }
        let payload = try await gateway.store.read { tx in
            try tx.dueOutboxItems(now: Date().addingTimeInterval(60), limit: 10).first { $0.id == notice }?.payload
        }
        let text = String(decoding: try #require(payload), as: UTF8.self)
        #expect(text.contains("https://neu.example/anmelden") && !text.contains("alt.example"))

        // Receipts off and a help link: both apply at once (the help link through the mailbox's redirect text).
        try write(link: "https://neu.example/anmelden", port: port + 1, receipts: false,
                  helpLink: "https://hilfe.example/help")
        #expect(try await gateway.reload(from: file.path).needsRestart == ["smtp"])
        #expect(gateway.runner.pipeline.configuration.receiptPeriod == nil)
        #expect(gateway.runner.pipeline.configuration.mailboxes.first?.redirectTemplate.body
                .contains("https://hilfe.example/help") == true)

        // An invalid file: an error, and the running configuration stays.
        try write(link: "https://neu.example/anmelden", extra: "\n[unknown-section]\nx = 1\n")
        await #expect(throws: ConfigurationError.self) { try await gateway.reload(from: file.path) }
        #expect(gateway.runner.pipeline.configuration.mailboxes.first?.link.value == "https://neu.example/anmelden")
        await gateway.listener.close()
        try await gateway.pgp.shutdown()
    }
}

/// A fresh folder with a configuration file for a reloading gateway: everything under the folder, SMTP on a random
/// port (the file format needs a real port; the listener binds it), metrics and web off.
struct ReloadFolder {
    let folder = URL(fileURLWithPath: "/tmp/mb-reload-\(UUID().uuidString.prefix(8))")
    var file: URL { folder.appendingPathComponent("mailbridge.toml") }
    let port = Int.random(in: 30_000...39_000)

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

    /// Writes the embedded default with `link` as the mailbox's redirect link, changed by `change`, then `extra`.
    func write(link: String, port: Int? = nil, extra: String = "",
               _ change: (inout BridgeConfiguration) throws -> Void = { _ in }) throws {
        var configuration = BridgeConfiguration.embeddedDefault(
            dataFolder: try AbsolutePath(folder.appendingPathComponent("data").path))
        configuration.smtp.port = port ?? self.port
        configuration.metrics.enabled = false
        configuration.web.enabled = false
        configuration.mailboxes[0].redirectLink = try RedirectLink(link)
        try change(&configuration)
        try (configuration.tomlText + extra).write(to: file, atomically: true, encoding: .utf8)
    }

    func remove() {
        _ = try? Shell.run("gpgconf", ["--homedir", folder.appendingPathComponent("data/gnupg").path, "--kill", "all"],
                           allowFailure: true)
        try? FileManager.default.removeItem(at: folder)
    }
}
