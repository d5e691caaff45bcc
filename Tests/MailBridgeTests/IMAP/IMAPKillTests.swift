import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Issue 18 ("Also"): `kill -9` of the real `mailbridge serve` binary at random points while it fetches from a
/// real Dovecot, spools, moves or deletes and processes; after the kills a last run finishes the work. Every
/// message of the source folder must end up redirected exactly once (one redirect row in the outbox per sender,
/// every copy fetched again after a kill suppressed), nothing may stay behind in the folder or the spool, and
/// only the one message over `max-message-bytes` (delivered before the last run) may land in the failed folder,
/// with one team notice. Run for `after-import = "move"` and `"delete"`.
@Suite(.serialized) struct IMAPKillTests {
    static let messages = 200
    static let kills = 6

    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/mailbridge")
    }

    @Test(.timeLimit(.minutes(3)), arguments: ["move", "delete"])
    func killDashNineWhileFetchingRedirectsEachMessageOnce(afterImport: String) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build the mailbridge product")
        let server = try DovecotServer()
        for index in 1...Self.messages {
            try server.deliver(IMAPFetcherTests.plainMail("kill\(index)", from: "absender\(index)@example.net"))
        }
        try await server.start()
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
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        func lines(_ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }
        print("IMAP kill -9 (\(afterImport)): \(killedWithWork) kills, \(Self.messages) messages, "
              + "\(redirects) redirect rows; log: \(lines("inbound processed")) processed, "
              + "\(lines("redirect-suppressed")) copies suppressed, \(lines("imap cycle")) fetch cycles, "
              + "\(lines("spool recovery removed")) recoveries of half-written spool files")
        #expect(redirects == Self.messages)
        #expect(rows.filter { ($0["kind"] as? String) == "notification" }.count == 1)
        #expect(rows.count == Self.messages + 1, "redirects and one notice expected: \(rows.count) rows")
        #expect(server.messages(in: "MailBridge/Failed").count == 1)
        #expect(text.contains("imap message moved to the failed folder"))
        #expect(!text.contains("gross@example.net"))
        if afterImport == "move" {
            #expect(server.messages(in: "MailBridge/Imported").count == Self.messages)
        }
        #expect(await server.stop())
    }
}
