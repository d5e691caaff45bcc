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

    @Test(.timeLimit(.minutes(3)), arguments: ["move", "delete"])
    func killDashNineWhileFetchingImportsOrRedirectsEachMessageOnce(afterImport: String) async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product")
        let server = try DovecotServer()
        let daemon = try GatewayDaemon(name: "imapkill", sections: """
            \(GatewayDaemon.counsellingMailbox)
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
            [web]
            enabled = false
            """)
        defer { daemon.remove() }
        // Encrypted mail too: the gateway's key (made by `keys export` on first use), two clients with their own
        // keys (Autocrypt on every message), each message signed and encrypted with the gpg CLI.
        let gatewayKey = try daemon.command(["keys", "export"]).stdout
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

        func remaining() -> Int { server.messages(in: "INBOX").count }
        var generator = SystemRandomNumberGenerator()
        var killedWithWork = 0
        for _ in 0..<Self.kills {
            guard remaining() > 0 else { break }
            let before = remaining()
            let gateway = try daemon.launch()
            // Wait until this run is at work (a message left INBOX or reached the spool), then kill it at a
            // random point: while it fetches, spools, moves/expunges or processes.
            var waited = 0
            while remaining() == before, daemon.spooled == 0, waited < 1200, gateway.isRunning {
                try await Task.sleep(for: .milliseconds(5))
                waited += 1
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400, using: &generator)))
            daemon.kill(gateway)
            killedWithWork += 1
        }
        // The last run finishes: the folder and the spool empty, every message processed. One message over
        // max-message-bytes arrives now: it goes to the failed folder and the team gets one notice.
        let filler = String(repeating: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/\n", count: 400)
        try server.deliver(IMAPFetcherTests.plainMail("toolarge", from: "gross@example.net") + filler)
        _ = try Shell.run("chown", ["-R", "\(DovecotServer.mailUID):\(DovecotServer.mailUID)", server.inbox.path])
        let gateway = try daemon.launch()
        let deadline = ContinuousClock.now + .seconds(90)
        var done = false
        while !done, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            done = remaining() == 0 && daemon.spooled == 0 && FreePort.isListening(daemon.port)
        }
        try await Task.sleep(for: .milliseconds(500))
        gateway.terminate()
        gateway.waitUntilExit()
        #expect(done, "left in INBOX: \(remaining())")

        let list = try daemon.command(["queue", "list", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(list.stdout)) as? [[String: Any]] ?? []
        let redirects = rows.filter { ($0["kind"] as? String) == "redirectReply" }.count
        let threads = try daemon.command(["threads", "list", "--json"])
        let listed = try JSONSerialization.jsonObject(with: Data(threads.stdout)) as? [[String: Any]] ?? []
        let stored = listed.compactMap { $0["messages"] as? Int }.reduce(0, +)
        let text = daemon.logText
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
        // Receipts are on by default: one per client thread and period (issue 17), never more after a kill.
        #expect(rows.filter { ($0["kind"] as? String) == "receipt" }.count == Self.clients)
        #expect(rows.count == Self.messages + encrypted + 1 + Self.clients, "\(rows.count) outbox rows")
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
