import Foundation
@testable import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// A counsellor's reply reaches the smarthost at once, not at the outbound queue's next poll (issue 19): the
/// queue polls every 60 s, so only a wake-up after the commit can deliver within a second. Measured from the
/// moment the reply is queued until the local sink has it, for the daemon's own composer (the path of the web
/// inbox and the API) and for a composer in another process (`mailbridge reply`, which wakes the daemon through
/// the data folder's wake socket).
@Suite(.serialized) struct ReplyWakeTests {
    @Test func repliesReachTheSmarthostWithinASecond() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let folder = URL(fileURLWithPath: "/tmp/mb-wake-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
        configuration.metrics.enabled = false
        configuration.web.enabled = false
        let logs = LogCapture()
        let gateway = try await Gateway.start(configuration, logger: logs.logger())
        let running = Task { try await gateway.run() }
        let client = try GnuPGClient(home: folder.appendingPathComponent("client-gnupg"))
        defer {
            client.kill()
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        #expect(gateway.queue?.configuration.pollInterval == .seconds(60), "the poll alone would take a minute")

        // A client thread, imported over SMTP: its notice reaches the sink first.
        let gatewayKey = try #require(gateway.gatewayKeys["beratung@localhost"])
        try client.gpg(["--import"], stdin: try await gateway.pgp.exportPublicKey(gatewayKey))
        let clientKey = try client.makeKey("wecker@example.net")
        let mail = try EncryptedTestMail.pgpMIME(
            client: client, from: "wecker@example.net", to: "beratung@localhost", clientKey: clientKey,
            gatewayKey: gatewayKey, inner: "Content-Type: text/plain\r\n\r\nHallo",
            messageID: "<wake-\(UUID())@example.net>")
        let port = try #require(gateway.listener.localAddress?.port)
        let send = """
            import smtplib, sys
            with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
                s.sendmail('wecker@example.net', ['beratung@localhost'], sys.stdin.buffer.read())
            """
        // Off the cooperative pool: the gateway under test runs in this process and needs its threads to answer.
        try await offCooperativePool { _ = try Shell.run("python3", ["-c", send, "\(port)"], stdin: Array(mail.utf8)) }
        try await waitForSink(sink, count: 1, within: .seconds(30))
        let thread = try #require(try await gateway.store.read {
            try $0.listThreads(field: try CounsellingField("allgemein"))
        }.first?.id)

        // 1. The daemon's composer (web inbox, API).
        var started = ContinuousClock.now
        guard case .queued = try await gateway.replies.queueReply(thread: thread, text: "Antwort 1", counsellor: nil)
        else { Issue.record("reply not queued encrypted"); return }
        try await waitForSink(sink, count: 2, within: .seconds(5))
        let inProcess = ContinuousClock.now - started
        #expect(inProcess < .seconds(1), "the reply waited \(inProcess)")

        // 2. Another process's composer (`mailbridge reply`): it shares only the store and the data folder.
        let other = try ReplyComposer(store: gateway.store, pgp: gateway.pgp, mailboxes: gateway.mailboxes.all,
                                  logger: logs.logger("cli"))
        started = ContinuousClock.now
        guard case .queued = try await other.queueReply(thread: thread, text: "Antwort 2", counsellor: nil)
        else { Issue.record("reply not queued encrypted"); return }
        QueueWakeSocket.notify(dataFolder: folder)
        try await waitForSink(sink, count: 3, within: .seconds(5))
        let crossProcess = ContinuousClock.now - started
        #expect(crossProcess < .seconds(1), "the reply waited \(crossProcess)")
        print("reply-wake: in-process \(inProcess), via wake socket \(crossProcess)")

        running.cancel()
        _ = await running.result
    }

    private func waitForSink(_ sink: OutboundSink, count: Int, within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while sink.messages().count < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
