import Foundation
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// The whole daemon as `mailbridge serve --embedded` builds it, driven by real clients: Python's smtplib sends a
/// plain mail, swaks a PGP/MIME mail made with gpg; replies and notices leave through the outbound queue to an
/// aiosmtpd sink. Canaries must not reach the sink, the logs or the raw database.
@Suite struct GatewayEndToEndTests {
    @Test func plainAndEncryptedMailThroughTheRunningGateway() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let folder = URL(fileURLWithPath: "/tmp/mb-e2e-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
        configuration.metrics.port = 0
        configuration.web.port = 0
        let logs = LogCapture()
        let gateway = try await Gateway.start(configuration, logger: logs.logger())
        let running = Task { try await gateway.run() }
        let port = try #require(gateway.listener.localAddress?.port)
        let client = try GnuPGClient(home: folder.appendingPathComponent("client-gnupg"))
        defer {
            client.kill()
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        let canary = "CANARY\(UUID().uuidString.prefix(8))"

        // 1. Plain mail from Python's smtplib.
        let script = """
            import smtplib, sys
            from email.message import EmailMessage
            m = EmailMessage()
            m['From'] = 'plain@example.net'; m['To'] = 'beratung@localhost'; m['Subject'] = sys.argv[2] + '-subject'
            m.set_content('Ich brauche Hilfe ' + sys.argv[2] + '-body')
            with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
                s.send_message(m)
            """
        // Off the cooperative pool: the gateway under test runs in this process and needs its threads to answer.
        try await offCooperativePool { _ = try Shell.run("python3", ["-c", script, "\(port)", canary]) }

        // 2. PGP/MIME from swaks: gpg-encrypted and signed inner entity, client key in an Autocrypt header.
        let gatewayKey = try #require(gateway.gatewayKeys["beratung@localhost"])
        try client.gpg(["--import"], stdin: try await gateway.pgp.exportPublicKey(gatewayKey))
        let clientKey = try client.makeKey("klient@example.net")
        let inner = "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: \(canary)-inner\r\n\r\n"
            + "Vertraulich: \(canary)-secret\r\n"
        let mail = try EncryptedTestMail.pgpMIME(
            client: client, from: "klient@example.net", to: "beratung@localhost", clientKey: clientKey,
            gatewayKey: gatewayKey, inner: inner, messageID: "<e2e-\(UUID())@example.net>")
        let mailFile = folder.appendingPathComponent("pgpmime.eml")
        try Data(mail.utf8).write(to: mailFile)
        let swaks = try await offCooperativePool {
            try Shell.run("swaks", ["--server", "127.0.0.1:\(port)", "--from", "klient@example.net",
                                    "--to", "beratung@localhost", "--data", mailFile.path])
        }
        #expect(swaks.stdout.text.contains("250 2.0.0"))

        // All three arrive at the sink: the redirect (to the plain sender), the notice (to the team address) and
        // the receipt for the validly signed message (`[receipt]` is on by default), encrypted to the client.
        let deadline = ContinuousClock.now + .seconds(30)
        while sink.messages().count < 3 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let delivered = sink.messages().map { String(decoding: $0, as: UTF8.self) }
        #expect(delivered.count == 3)
        let receipt = try #require(delivered.first { $0.contains("multipart/encrypted") })
        #expect(receipt.contains("To: klient@example.net") && receipt.contains("Auto-Submitted: auto-replied"))
        #expect(!receipt.contains(canary))
        let redirect = try #require(delivered.first { $0.contains("Auto-Submitted: auto-replied") })
        #expect(redirect.contains("https://beratung.example/login"))
        #expect(sink.events("mail").allSatisfy { ($0["sender"] as? String) == "<>" }, "automatic mail uses MAIL FROM:<>: \(sink.events("mail"))")
        #expect(sink.events("rcpt").contains { ($0["recipient"] as? String) == "plain@example.net" })

        // The encrypted mail is a thread with the protected subject and a valid signature by the client key.
        let field = try CounsellingField("allgemein")
        let threads = try await gateway.store.read { try $0.listThreads(field: field) }
        #expect(threads.count == 1)
        let thread = try #require(threads.first)
        let opened = try await gateway.store.read { try $0.openThread(thread.id) }
        #expect(opened.messages.first?.subject == "\(canary)-inner")
        #expect(opened.messages.first?.body.text.contains("\(canary)-secret") == true)
        #expect(opened.messages.first?.verdict == .valid)
        #expect(opened.clientKey?.unredactedDescription == clientKey.hex)

        // Prometheus metrics on loopback: counts by outcome, nothing personal.
        let metricsPort = try #require(gateway.metricsEndpoint?.localAddress?.port)
        let fetch = """
            import sys, urllib.request, urllib.error
            try:
                print(urllib.request.urlopen('http://127.0.0.1:%s%s' % (sys.argv[1], sys.argv[2])).read().decode())
            except urllib.error.HTTPError as e:
                print('HTTP', e.code)
            """
        var exposition = ""
        while ContinuousClock.now < deadline {
            exposition = try Shell.run("python3", ["-c", fetch, "\(metricsPort)", "/metrics"]).stdout.text
            if exposition.contains("mailbridge_outbound_results_total{result=\"delivered\"} 3") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(exposition.contains("mailbridge_smtp_messages_accepted_total 2"))
        #expect(exposition.contains("mailbridge_inbound_processed_total{outcome=\"redirected\"} 1"))
        #expect(exposition.contains("mailbridge_inbound_processed_total{outcome=\"imported\"} 1"))
        #expect(exposition.contains("mailbridge_outbound_results_total{result=\"delivered\"} 3"))
        #expect(exposition.contains("mailbridge_inbound_processing_seconds"))
        #expect(!exposition.contains(canary) && !exposition.contains("example.net"))
        #expect(try Shell.run("python3", ["-c", fetch, "\(metricsPort)", "/"]).stdout.text.contains("HTTP 404"))

        // The web inbox runs in the same gateway: its login page answers on its own loopback port.
        let web = try #require(gateway.web)
        let webPort = try #require(await web.localAddress().port)
        #expect(webPort != metricsPort && webPort != port)
        let login = try await offCooperativePool {
            try Shell.run("python3", ["-c", fetch, "\(webPort)", "/login"]).stdout.text
        }
        #expect(login.contains("<form") && login.contains("name=\"password\""))
        // The help page (no `[help] port`) is served by the same server, without login, with the mailbox's key.
        #expect(gateway.help == nil)
        let help = try await offCooperativePool {
            try Shell.run("python3", ["-c", fetch, "\(webPort)", "/help?lang=en"]).stdout.text
        }
        #expect(help.contains("Writing encrypted e-mail") && help.contains("beratung@localhost"))
        #expect(help.contains(HelpDirectory.grouped(gatewayKey)))

        running.cancel()
        _ = await running.result

        for text in delivered { #expect(!text.contains(canary), "canary in outbound mail") }
        for line in logs.all { #expect(!line.contains(canary), "canary in a log line") }
        var database: [UInt8] = []
        for suffix in ["", "-wal"] {
            database += Array(FileManager.default.contents(atPath: folder.appendingPathComponent("threads.sqlite").path
                                                                   + suffix) ?? Data())
        }
        #expect(!database.isEmpty && database.firstRange(of: Array(canary.utf8)) == nil, "canary in the raw database")
    }
}
