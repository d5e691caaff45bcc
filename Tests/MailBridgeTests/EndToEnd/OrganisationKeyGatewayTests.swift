import Foundation
import MailBridge
import MailValues
import NIOCore
import TestSupport
import Testing
import ThreadStore

/// Issue 29 in the running gateway: with organisation B's master key missing, the gateway starts, reports it, and
/// processes organisation A's mail; B's mail is accepted (`250`) and stays in the spool, unread and unanswered
/// (not even the redirect, which would tell it got through), until B's key is back and the gateway restarted.
/// A key that is not the one the store knows for B is refused the same way.
@Suite struct OrganisationKeyGatewayTests {
    @Test func anOrganisationWithoutItsKeyWaitsAndTheOthersGoOn() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let folder = URL(fileURLWithPath: "/tmp/mb-orgkey-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
        configuration.metrics.port = 0
        configuration.web.enabled = false
        let (a, b) = (try OrganisationID("org-a"), try OrganisationID("org-b"))
        configuration.organisations = [.init(id: a, name: "Beratung A"), .init(id: b, name: "Beratung B")]
        configuration.mailboxes[0].organisation = a
        var second = configuration.mailboxes[0]
        second.address = try EmailAddress("familie@localhost")
        second.field = "familie"
        second.teamNotificationAddress = try EmailAddress("team-familie@localhost")
        second.organisation = b
        configuration.mailboxes.append(second)
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        // A's key only (as `mailbridge init` makes it); B's file does not exist.
        let keyFolder = folder.appendingPathComponent("organisations")
        try FileManager.default.createDirectory(at: keyFolder, withIntermediateDirectories: true)
        try MasterKey.generate().write(to: keyFolder.appendingPathComponent("org-a.key"))

        // Each from its own sender: the redirect's rate limit is per sender.
        func send(to recipient: String, from sender: String, port: Int) async throws {
            let script = """
                import smtplib, sys
                from email.message import EmailMessage
                m = EmailMessage()
                m['From'] = sys.argv[3]; m['To'] = sys.argv[2]; m['Subject'] = 'Hallo'
                m.set_content('Ich brauche Hilfe')
                with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
                    s.send_message(m)
                """
            try await offCooperativePool { _ = try Shell.run("python3", ["-c", script, "\(port)", recipient, sender]) }
        }
        func spooled() -> Int {
            let root = folder.appendingPathComponent("spool")
            let names = try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("incoming").path)
            return (names ?? []).filter { $0.hasSuffix(".eml") }.count
        }
        func waitForSink(_ count: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while sink.messages().count < count && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        func start() async throws -> (gateway: Gateway, running: Task<Void, any Error>, logs: LogCapture) {
            let logs = LogCapture()
            let gateway = try await Gateway.start(configuration, logger: logs.logger())
            return (gateway, Task { [gateway] in try await gateway.run() }, logs)
        }

        // 1. B's key missing: reported at start; A's mail answered, B's kept.
        var (gateway, running, logs) = try await start()
        #expect(logs.all.contains { $0.contains("organisation key unavailable") && $0.contains("org-b") },
                "\(logs.all.filter { $0.contains("organisation") })")
        let metricsPort = try #require(gateway.metricsEndpoint?.localAddress?.port)
        @Sendable func scrape() async throws -> String {
            try await offCooperativePool {
                try Shell.run("python3", ["-c", "import sys, urllib.request; print(urllib.request.urlopen("
                                          + "'http://127.0.0.1:%s/metrics' % sys.argv[1]).read().decode())",
                                          "\(metricsPort)"]).stdout.text
            }
        }
        let exposition = try await scrape()
        #expect(exposition.contains("mailbridge_organisation_key_loaded{organisation=\"org-a\"} 1"), "\(exposition)")
        #expect(exposition.contains("mailbridge_organisation_key_loaded{organisation=\"org-b\"} 0"))
        var port = try #require(gateway.listener.localAddress?.port)
        try await send(to: "familie@localhost", from: "b1@example.net", port: port)
        try await send(to: "beratung@localhost", from: "a1@example.net", port: port)
        try await waitForSink(1)
        try await Task.sleep(for: .seconds(1))
        #expect(sink.messages().count == 1, "only A's redirect goes out")
        #expect(sink.events("rcpt").map { $0["recipient"] as? String } == ["a1@example.net"])
        #expect(spooled() == 1, "B's mail waits in the spool")
        // The pipeline's outcomes carry the organisation (A's redirect), and nothing of B's waiting mail.
        let counted = try await scrape()
        #expect(counted.contains("mailbridge_inbound_processed_total{organisation=\"org-a\",outcome=\"redirected\"} 1"),
                "\(counted.split(separator: "\n").filter { $0.contains("inbound_processed") })")
        #expect(!counted.contains("organisation=\"org-b\",outcome"))
        running.cancel()
        _ = await running.result

        // 2. B's key back: B's waiting mail goes through.
        let keyB = MasterKey.generate()
        try keyB.write(to: keyFolder.appendingPathComponent("org-b.key"))
        (gateway, running, logs) = try await start()
        try await waitForSink(2)
        #expect(sink.messages().count == 2, "B's waiting mail is processed once its key is back")
        #expect(sink.events("rcpt").map { $0["recipient"] as? String } == ["a1@example.net", "b1@example.net"])
        let deadline = ContinuousClock.now + .seconds(10)
        while spooled() > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(spooled() == 0)
        running.cancel()
        _ = await running.result

        // 3. A key for B that is not the one the store knows (a new one made after the first was lost): refused,
        //    B's new mail waits again.
        try FileManager.default.removeItem(at: keyFolder.appendingPathComponent("org-b.key"))
        try MasterKey.generate().write(to: keyFolder.appendingPathComponent("org-b.key"))
        (gateway, running, logs) = try await start()
        #expect(logs.all.contains { $0.contains("organisation key refused") && $0.contains("org-b") })
        port = try #require(gateway.listener.localAddress?.port)
        try await send(to: "familie@localhost", from: "b2@example.net", port: port)
        try await Task.sleep(for: .seconds(2))
        #expect(sink.messages().count == 2, "nothing of B is processed with a wrong key")
        #expect(spooled() == 1)
        running.cancel()
        _ = await running.result
    }
}
