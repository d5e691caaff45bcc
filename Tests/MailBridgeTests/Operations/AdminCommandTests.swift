import Foundation
import Logging
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// The admin subcommands, run in-process on a data folder made by `init`, with a thread seeded in the store.
@Suite struct AdminCommandTests {
    static let clientAddress = "admin-klient@example.net"

    /// Seeds one inbound message from a client whose public key is in the gateway keyring.
    private func seed(_ config: String, client: GnuPGClient, canary: String, logger: Logger) async throws -> ThreadID {
        let installation = try await OpenedInstallation.open(try BridgeConfiguration.load(file: config), logger: logger)
        let fingerprint = try client.makeKey(Self.clientAddress)
        _ = try await installation.pgp.importPublicKeys(try client.gpg(["--export", fingerprint.hex]).stdout)
        let mailbox = try #require(installation.mailboxes.first)
        let identity = ClientIdentity(field: mailbox.field, key: try ClientKeyFingerprint(fingerprint.hex),
                                      address: try ClientAddress(Self.clientAddress))
        let message = NewMessage(direction: .inbound, messageID: "<seed@example.net>", subject: "Hilfe \(canary)",
                                 body: Array("Text \(canary)".utf8), verdict: .valid, receivedAt: Date())
        let outcome = try await installation.store.write { try $0.importMessage(message, into: .client(identity)) }
        await installation.close()
        guard case .stored(let thread, _, _) = outcome else { throw AdminTestFailure() }
        return thread
    }

    struct AdminTestFailure: Error {}

    @Test func adminCommandsOnAnInitialisedFolder() async throws {
        let folder = try TemporaryFolder()
        let config = folder.path + "/etc/mailbridge.toml"
        _ = try DataFolderInitializer.run(dataFolder: try AbsolutePath(folder.path + "/data"),
                                          configFile: try AbsolutePath(config))
        let client = try GnuPGClient(home: folder.url.appendingPathComponent("client"))
        defer {
            client.kill()
            _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"], allowFailure: true)
            folder.remove()
        }
        let logs = LogCapture()
        let logger = logs.logger("admin")
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let thread = try await seed(config, client: client, canary: canary, logger: logger)
        func run(_ body: (OpenedInstallation) async throws -> AdminResult) async -> AdminResult {
            await AdminSession.run(configFile: config, logger: logger, body)
        }

        // threads list: metadata only.
        let listed = await run { try await ThreadsAdmin.list($0, field: nil, json: true) }
        #expect(listed.status == .success, "\(listed.errorOutput)")
        let threads = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]
        #expect(threads?.count == 1)
        #expect(threads?.first?["id"] as? String == thread.unredactedDescription)
        #expect(threads?.first?["field"] as? String == "allgemein")
        #expect(!listed.output.contains(canary) && !listed.output.contains(Self.clientAddress))
        let otherField = await run { try await ThreadsAdmin.list($0, field: "andere", json: false) }
        #expect(otherField.output == "no threads")

        // thread show: the decrypted content, for the admin.
        let shown = await run { try await ThreadsAdmin.show($0, id: thread.unredactedDescription, json: false) }
        #expect(shown.status == .success)
        #expect(shown.output.contains("Subject: Hilfe \(canary)") && shown.output.contains("Text \(canary)"))
        let shownJSON = await run { try await ThreadsAdmin.show($0, id: thread.unredactedDescription, json: true) }
        let messages = try JSONSerialization.jsonObject(with: Data(shownJSON.output.utf8)) as? [[String: Any]]
        #expect(messages?.first?["body"] as? String == "Text \(canary)")
        #expect(await run { try await ThreadsAdmin.show($0, id: "not-an-id", json: false) }.status == .usage)
        #expect(await run { try await ThreadsAdmin.show($0, id: String(repeating: "a", count: 32), json: false) }
            .status == .failure)

        // reply: encrypted to the client key, queued; queue list shows the row without recipient or content.
        let textFile = try folder.write("reply.txt", "Antwort \(canary)-reply")
        let replied = await run {
            try await ThreadsAdmin.reply($0, id: thread.unredactedDescription, textFile: textFile, logger: logger)
        }
        #expect(replied.status == .success, "\(replied.errorOutput)")
        #expect(replied.output.hasPrefix("queued the encrypted reply"))
        let afterReply = await run { try await ThreadsAdmin.show($0, id: thread.unredactedDescription, json: true) }
        let both = try JSONSerialization.jsonObject(with: Data(afterReply.output.utf8)) as? [[String: Any]]
        #expect(both?.map { $0["direction"] as? String } == ["inbound", "outbound"])
        #expect((both?.last?["body"] as? String)?.hasPrefix("Antwort \(canary)-reply") == true)
        let queue = await run { try await QueueAdmin.list($0, json: true) }
        let rows = try JSONSerialization.jsonObject(with: Data(queue.output.utf8)) as? [[String: Any]]
        #expect(rows?.count == 1)
        #expect(rows?.first?["kind"] as? String == "counsellorReply")
        #expect(rows?.first?["attempts"] as? Int == 0)
        #expect(rows?.first?["nextAttempt"] != nil)
        #expect(!queue.output.contains(Self.clientAddress) && !queue.output.contains(canary))
        let queueText = await run { try await QueueAdmin.list($0, json: false) }
        #expect(queueText.output.contains("counsellorReply  pending  attempts: 0"))
        // Each `thread show` is audited as an export and the reply as queued, from the command line; the audit
        // printout names the thread, never content.
        let audited = await run {
            try await AuditAdmin.list($0, thread: thread.unredactedDescription, account: nil, since: nil, limit: 100,
                                      json: false)
        }
        let auditLines = audited.output.split(separator: "\n")
        #expect(auditLines.filter { $0.contains("threadExported  via: command-line") }.count == 3)
        #expect(auditLines.contains { $0.contains("replyQueued  via: command-line") })
        #expect(!audited.output.contains(canary) && !audited.output.contains(Self.clientAddress))
        #expect(await run {
            try await ThreadsAdmin.reply($0, id: thread.unredactedDescription, textFile: folder.path + "/none",
                                         logger: logger)
        }.status == .usage)

        // keys export: the armored gateway key; unknown mailbox is a usage error.
        let exported = await run { try await KeysAdmin.export($0, mailbox: "beratung@example.org") }
        #expect(exported.output.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
        #expect(await run { try await KeysAdmin.export($0, mailbox: "nobody@example.org") }.status == .usage)

        // keys wkd: both layouts, hash as gpg-wks-client computes it, binary key.
        let wkd = folder.url.appendingPathComponent("wkd")
        let written = await run { try await KeysAdmin.writeWKD($0, to: wkd) }
        #expect(written.status == .success, "\(written.errorOutput)")
        let printed = try Shell.run("/usr/lib/gnupg/gpg-wks-client", ["--print-wkd-hash", "beratung@example.org"])
        let hash = try #require(printed.stdout.text.split(separator: " ").first.map(String.init))
        #expect(hash.count == 32)
        let direct = wkd.appendingPathComponent("example.org/.well-known/openpgpkey/hu/\(hash)")
        let advanced = wkd.appendingPathComponent("openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/\(hash)")
        for file in [direct, advanced] {
            let key = try #require(FileManager.default.contents(atPath: file.path), "missing \(file.path)")
            #expect(key.first.map { $0 & 0x80 != 0 } == true, "not a binary OpenPGP packet")
            let shownKey = try client.gpg(["--with-colons", "--import-options", "show-only", "--import"],
                                          stdin: Array(key)).stdout.text
            #expect(shownKey.contains("beratung@example.org"))
        }
        #expect(FileManager.default.fileExists(
            atPath: wkd.appendingPathComponent("example.org/.well-known/openpgpkey/policy").path))

        // A broken configuration is exit status 3.
        let broken = try folder.write("broken.toml", "[smtp]\nprot = 25\n")
        #expect(await AdminSession.run(configFile: broken, logger: logger) { _ in AdminResult() }.status
            == .invalidConfiguration)

        // The executable wires the same commands and exit codes.
        if let binary = CommandLineTests.executable {
            let listedByCLI = try runProcess(binary, ["threads", "list", "--config", config])
            #expect(listedByCLI.status == 0, "\(listedByCLI.output)")
            #expect(listedByCLI.output.contains(thread.unredactedDescription))
            #expect(try runProcess(binary, ["queue", "list", "--config", config, "--json"]).status == 0)
            #expect(try runProcess(binary, ["thread", "show", "xyz", "--config", config]).status == 2)
            #expect(try runProcess(binary, ["keys", "export", "--config", broken]).status == 3)
            #expect(try runProcess(binary, ["keys", "wkd", "--config", config]).status == 2)  // --out missing
        } else {
            Issue.record("the mailbridge executable was not built")
        }

        for line in logs.all {
            #expect(!line.contains(canary) && !line.contains(Self.clientAddress), "leak in a log line: \(line)")
        }
    }
}
