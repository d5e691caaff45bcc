import Foundation
import PGPShim
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Issue 18 ("Also"): `kill -9` of the real `mailbridge serve` binary at random points while it fetches from a
/// real Dovecot, spools, moves or deletes and processes; after the kills a last run finishes the work. Every
/// plain message of the source folder must end up redirected exactly once (one redirect row in the outbox per
/// sender) and every encrypted one stored exactly once in its client's thread (the thread message count, and one
/// team notice each); copies fetched again after a kill are suppressed. Nothing may stay behind in the folder or
/// the spool, and only the one message over `max-message-bytes` (delivered before the last run) may land in the
/// failed folder, with one team notice. Run for `after-import = "move"` and `"delete"`.
@Suite(.serialized) struct IMAPKillTests {
    static let messages = 200
    static let clients = 2
    static let encryptedPerClient = 15
    static let kills = 10

    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/mailbridge")
    }

    @Test(.timeLimit(.minutes(3)), arguments: ["move", "delete"])
    func killDashNineWhileFetchingImportsOrRedirectsEachMessageOnce(afterImport: String) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build the mailbridge product")
        let server = try DovecotServer()
        let folder = FileManager.default.temporaryDirectory.appending(path: "mailbridge-imapkill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", folder.appending(path: "data/gnupg").path, "--kill", "all"],
                               allowFailure: true)
            try? FileManager.default.removeItem(at: folder)
        }
        let port = try FreePort.find()
        let config = folder.appending(path: "mailbridge.toml")
        try """
            [data]
            folder = "\(folder.appending(path: "data").path)"
            [keys]
            master-key-file = "\(folder.appending(path: "data/master.key").path)"
            [smtp]
            listen = "127.0.0.1"
            port = \(port)
            [[mailbox]]
            address = "beratung@localhost"
            field = "allgemein"
            team-notification-address = "team@localhost"
            redirect-link = "https://beratung.example/login"
            language = "de"
            [[imap]]
            host = "localhost"
            port = \(server.imapsPort)
            username = "\(DovecotServer.user)"
            password-file = "\(server.passwordFile.path)"
            after-import = "\(afterImport)"
            deliver-to = "beratung@localhost"
            ca-file = "\(server.certificate.path)"
            max-message-bytes = 16384
            [metrics]
            enabled = false

            """.write(to: config, atomically: true, encoding: .utf8)
        // Encrypted mail too: the gateway's key (made by `keys export` on first use), two clients with their own
        // keys (Autocrypt on every message), each message signed and encrypted with the gpg CLI.
        let gatewayKey = try Shell.run(Self.binary.path, ["keys", "export", "--config", config.path]).stdout
        let harness = try await PipelineHarness()
        try harness.client.gpg(["--import"], stdin: gatewayKey)
        let gatewayFingerprint = try harness.client.fingerprint("beratung@localhost")
        var encryptedMails: [String] = []
        for client in 1...Self.clients {
            let address = "klient\(client)@example.net"
            let key = try harness.client.makeKey(address)
            let keydata = try harness.client.gpg(["--export", "--export-options", "export-minimal", key.hex]).stdout
            for index in 1...Self.encryptedPerClient {
                let inner = PipelineHarness.innerEntity(subject: "Betreff \(index)", body: "Hallo \(client)-\(index)",
                                                        fileName: "datei\(index).pdf")
                let ciphertext = try harness.client.gpg([
                    "--armor", "--sign", "--local-user", key.hex, "--encrypt", "--recipient", gatewayFingerprint.hex,
                ], stdin: Array(inner.utf8)).stdout
                let mail = try harness.pgpMIMEMail(
                    from: address, ciphertext: ciphertext, messageID: "<enc-\(client)-\(index)@example.net>",
                    extraHeaders: ["Autocrypt": " addr=\(address); keydata=\(Data(keydata).base64EncodedString())"],
                    to: "beratung@localhost")
                encryptedMails.append("Return-Path: <\(address)>\n" + mail)
            }
        }
        // Plain and encrypted interleaved (every eighth message encrypted), so kills land among both.
        for index in 1...Self.messages {
            try server.deliver(IMAPFetcherTests.plainMail("kill\(index)", from: "absender\(index)@example.net"))
            if index % 7 == 0, !encryptedMails.isEmpty { try server.deliver(encryptedMails.removeFirst()) }
        }
        for mail in encryptedMails { try server.deliver(mail) }
        try await server.start()
        let total = Self.messages + Self.clients * Self.encryptedPerClient

        let log = folder.appending(path: "gateway.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }

        func launch() throws -> Process {
            let gateway = Process()
            gateway.executableURL = Self.binary
            gateway.arguments = ["serve", "--config", config.path, "--log-level", "info"]
            try logHandle.seekToEnd()
            gateway.standardError = logHandle
            gateway.standardOutput = FileHandle.nullDevice
            try gateway.run()
            return gateway
        }
        func remaining() -> Int { server.messages(in: "INBOX").count }
        let incoming = folder.appending(path: "data/spool/incoming")
        func spooled() -> Int {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: incoming.path)) ?? []
            return names.filter { $0.hasSuffix(".eml") }.count
        }
        var generator = SystemRandomNumberGenerator()
        var killedWithWork = 0
        for _ in 0..<Self.kills {
            guard remaining() > 0 else { break }
            let before = remaining()
            let gateway = try launch()
            // Wait until this run is at work (a message left INBOX or reached the spool), then kill it at a
            // random point: while it fetches, spools, moves/expunges or processes.
            var waited = 0
            while remaining() == before, spooled() == 0, waited < 1200, gateway.isRunning {
                try await Task.sleep(for: .milliseconds(5))
                waited += 1
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400, using: &generator)))
            kill(gateway.processIdentifier, SIGKILL)
            gateway.waitUntilExit()
            killedWithWork += 1
        }
        // The last run finishes: the folder and the spool empty, every message processed. One message over
        // max-message-bytes arrives now: it goes to the failed folder and the team gets one notice.
        let filler = String(repeating: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/\n", count: 400)
        try server.deliver(IMAPFetcherTests.plainMail("toolarge", from: "gross@example.net") + filler)
        _ = try Shell.run("chown", ["-R", "\(DovecotServer.mailUID):\(DovecotServer.mailUID)", server.inbox.path])
        let gateway = try launch()
        let deadline = ContinuousClock.now + .seconds(90)
        var done = false
        while !done, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            done = remaining() == 0 && spooled() == 0 && FreePort.isListening(port)
        }
        try await Task.sleep(for: .milliseconds(500))
        gateway.terminate()
        gateway.waitUntilExit()
        #expect(done, "left in INBOX: \(remaining())")

        let list = try Shell.run(Self.binary.path, ["queue", "list", "--config", config.path, "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(list.stdout)) as? [[String: Any]] ?? []
        let redirects = rows.filter { ($0["kind"] as? String) == "redirectReply" }.count
        let threads = try Shell.run(Self.binary.path, ["threads", "list", "--config", config.path, "--json"])
        let listed = try JSONSerialization.jsonObject(with: Data(threads.stdout)) as? [[String: Any]] ?? []
        let stored = listed.compactMap { $0["messages"] as? Int }.reduce(0, +)
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        func lines(_ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }
        print("IMAP kill -9 (\(afterImport)): \(killedWithWork) kills, \(total) messages, "
              + "\(redirects) redirect rows, \(stored) thread messages; log: \(lines("inbound processed")) processed, "
              + "\(lines("redirect-suppressed")) plain and \(lines("outcome=duplicate")) encrypted copies suppressed, "
              + "\(lines("imap cycle")) fetch cycles, "
              + "\(lines("spool recovery removed")) recoveries of half-written spool files")
        #expect(redirects == Self.messages)
        // One notice per imported encrypted message (none for a suppressed copy) and one for the oversized one.
        let encrypted = Self.clients * Self.encryptedPerClient
        #expect(rows.filter { ($0["kind"] as? String) == "notification" }.count == encrypted + 1)
        #expect(rows.count == Self.messages + encrypted + 1, "\(rows.count) outbox rows")
        #expect(listed.count == Self.clients && stored == encrypted, "\(listed.count) threads, \(stored) messages")
        #expect(server.messages(in: "MailBridge/Failed").count == 1)
        #expect(text.contains("imap message moved to the failed folder"))
        #expect(!text.contains("gross@example.net"))
        if afterImport == "move" {
            #expect(server.messages(in: "MailBridge/Imported").count == total)
        }
        #expect(await server.stop())
        await harness.close()
    }
}
