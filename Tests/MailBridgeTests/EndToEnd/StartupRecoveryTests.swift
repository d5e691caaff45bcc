import Foundation
import MailBridge
import NIOCore
import TestSupport
import Testing
import ThreadStore

/// Issue 18 (2): spool recovery (which deletes half-received files) finishes before the listener is bound, so a
/// client that connects the moment the port opens never loses its message. Five restarts of one installation,
/// each with leftovers of a crash in the spool and a client that connects before the gateway runs.
@Suite struct StartupRecoveryTests {
    @Test func aClientConnectingAtOnceNeverLosesItsMessage() async throws {
        let folder = URL(fileURLWithPath: "/tmp/mb-start-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.metrics.enabled = false
        configuration.web.enabled = false
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        let spool = folder.appendingPathComponent("spool")
        let send = """
            import smtplib, sys
            from email.message import EmailMessage
            m = EmailMessage()
            m['From'] = 'sofort%s@example.net' % sys.argv[2]; m['To'] = 'beratung@localhost'; m['Subject'] = 'x'
            m['Message-ID'] = '<start-%s@example.net>' % sys.argv[2]
            m.set_content('Hallo')
            with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20) as s:
                print(s.send_message(m) == {})
            """
        for round in 1...3 {
            // What a crash leaves: half-received files in tmp, an envelope whose message never arrived.
            try FileManager.default.createDirectory(at: spool.appendingPathComponent("tmp"),
                                                    withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: spool.appendingPathComponent("incoming"),
                                                    withIntermediateDirectories: true)
            for index in 0..<200 {
                try Data("half".utf8).write(to: spool.appendingPathComponent("tmp/0000000000\(round)0000\(index).eml"))
            }
            try Data("{}".utf8).write(to: spool.appendingPathComponent("incoming/000000000000000000\(round)f.env"))

            let logs = LogCapture()
            let gateway = try await Gateway.start(configuration, logger: logs.logger())
            // The port is open now, so recovery must be over.
            #expect(try FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("tmp").path)
                    .isEmpty, "round \(round): leftovers in tmp after the listener was bound")
            #expect(!FileManager.default.fileExists(
                atPath: spool.appendingPathComponent("incoming/000000000000000000\(round)f.env").path))
            let port = try #require(gateway.listener.localAddress?.port)
            // The client connects before the gateway runs (the kernel queues it) and sends at once.
            // Off the cooperative pool (a detached task runs on it too): the gateway runs in this process.
            let client = Task {
                try await offCooperativePool { try Shell.run("python3", ["-c", send, "\(port)", "\(round)"]) }
            }
            let running = Task { try await gateway.run() }
            let result = try await client.value
            #expect(result.stdout.text.contains("True"), "round \(round): \(result.stderr)")
            // The message is processed: its redirect is queued (no smarthost, so the redirects of every round stay
            // in the outbox; each round has its own sender).
            let deadline = ContinuousClock.now + .seconds(20)
            var queued = 0
            while ContinuousClock.now < deadline {
                queued = try await gateway.store.read { try $0.outboxOverview(limit: 50) }.count
                if queued >= round { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(queued == round, "round \(round): the message was not processed")
            // No session lost its file (the intake's failure answers 451) and nothing failed in the pipeline.
            #expect(!logs.all.contains { $0.contains("intake failed") || $0.contains("cannot create spool file")
                || $0.contains("inbound processing failed") }, "round \(round)")
            running.cancel()
            _ = await running.result
            try? gateway.store.close()
        }
    }
}
