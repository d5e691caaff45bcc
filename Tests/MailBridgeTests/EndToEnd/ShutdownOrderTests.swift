import Foundation
@testable import MailBridge
import NIOCore
import ServiceLifecycle
import TestSupport
import Testing
import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM stops the gateway in the right order (issue 19): the listener stops accepting first, then the pipeline
/// and the queue finish their work, then the store closes. swift-service-lifecycle's `ServiceGroup` shuts services
/// down in reverse order of the list, so the list must end with the listener.
@Suite(.serialized) struct ShutdownOrderTests {
    @Test func theListenerIsShutDownFirstAndTheWatchdogLast() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let folder = URL(fileURLWithPath: "/tmp/mb-order-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
        configuration.metrics.port = 0
        configuration.web.port = 0
        configuration.imapSources = [.init(host: "127.0.0.1", port: 1, tls: .starttls, username: "u",
                                           passwordFile: try AbsolutePath("/dev/null"),
                                           deliverTo: try EmailAddress("beratung@localhost"))]
        let gateway = try await Gateway.start(configuration, logger: LogCapture().logger())
        defer { _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                                   allowFailure: true) }
        // Reverse of the list = shutdown order.
        let shutdown = gateway.services(reloadingFrom: "/dev/null").reversed().map { "\(type(of: $0))" }
        #expect(shutdown == ["SMTPListener", "IMAPFetcher", "WebServer", "PipelineRunner", "QueueWakeSocket",
                             "QueueDepthMonitor", "WaitingThreadsMonitor", "GatewayKeyService", "NoticeDigestService",
                             "OutboundQueue", "MaintenanceService", "ConfigurationReload", "MetricsEndpoint", "SystemdWatchdogService"])
        try? gateway.store.close()
    }

    /// The real daemon under load gets SIGTERM: every message that got `250` is processed after a restart (its
    /// sender gets the redirect), and no session that began after the listener's first `421` gets a `250`.
    @Test(.timeLimit(.minutes(3))) func sigtermUnderLoadLosesNothingAndAcceptsNothingAfter421() async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product first")
        let gatewayDaemon = try GatewayDaemon(name: "sigterm", smtp: """
            max-connections-per-ip = 100
            max-connections = 100
            """, sections: """
            \(GatewayDaemon.counsellingMailbox)
            [metrics]
            enabled = false
            [web]
            enabled = false
            """)
        defer { gatewayDaemon.remove() }
        let (port, config) = (gatewayDaemon.port, gatewayDaemon.config)
        let daemon = try gatewayDaemon.launch(logLevel: "warning")
        defer { if daemon.isRunning { gatewayDaemon.kill(daemon) } }
        try #require(try await gatewayDaemon.waitUntilListening(daemon), "the gateway did not start")

        let log = ShutdownLog()
        let pid = daemon.processIdentifier
        let termAfter = 40
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<8 {
                group.addTask {
                    for index in 0..<200 {
                        let opened = ContinuousClock.now
                        guard var session = try? await RawSMTPClient.connect(port: port) else {
                            await log.refused(at: opened)
                            if await log.refusals > 20 { return }
                            try? await Task.sleep(for: .milliseconds(20))
                            continue
                        }
                        defer { session.channel.close(promise: nil) }
                        let sender = "s\(client)-\(index)@example.net"
                        let codes = [
                            (try? await session.readReply())?.code ?? 0,
                            (try? await session.command("EHLO load")) ?? 0,
                            (try? await session.command("MAIL FROM:<\(sender)>")) ?? 0,
                            (try? await session.command("RCPT TO:<beratung@localhost>")) ?? 0,
                            (try? await session.command("DATA")) ?? 0,
                        ]
                        if codes.contains(421) { await log.saw421(at: ContinuousClock.now); continue }
                        guard codes == [220, 250, 250, 250, 354] else { continue }
                        try? await session.send("From: \(sender)\r\nSubject: x\r\n\r\nHallo\r\n.\r\n")
                        let reply = try? await session.readReply()
                        if reply?.code == 250 {
                            await log.accepted(sender, opened: opened)
                            if await log.acceptedCount == termAfter { kill(pid, SIGTERM) }
                        } else if reply?.code == 421 {
                            await log.saw421(at: ContinuousClock.now)
                        }
                        _ = try? await session.command("QUIT")
                    }
                }
            }
        }
        let stopDeadline = ContinuousClock.now + .seconds(60)
        while daemon.isRunning && ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!daemon.isRunning, "the daemon did not stop after SIGTERM")
        #expect(daemon.terminationReason == .exit && daemon.terminationStatus == 0, "a graceful stop exits 0")
        let accepted = await log.senders
        #expect(accepted.count >= termAfter)
        let first421 = await log.first421
        let late = await log.acceptedOpenedAfter(first421)
        #expect(late.isEmpty, "sessions opened after the first 421 got 250: \(late)")

        // Restart on the same data folder with a sink: every accepted message is processed and redirected.
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        var configuration = try BridgeConfiguration.load(file: config.path)
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
        let gateway = try await Gateway.start(configuration, logger: LogCapture().logger())
        let running = Task { try await gateway.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        var redirected: Set<String> = []
        while ContinuousClock.now < deadline {
            redirected = Set(sink.events("rcpt").compactMap { $0["recipient"] as? String })
            if accepted.isSubset(of: redirected) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(accepted.isSubset(of: redirected), "lost: \(accepted.subtracting(redirected).sorted())")
        print("sigterm test: \(accepted.count) accepted, \(redirected.count) redirected after restart")
        running.cancel()
        _ = await running.result
    }
}

/// What the load clients saw around the SIGTERM.
private actor ShutdownLog {
    private(set) var senders: Set<String> = []
    private var opened: [String: ContinuousClock.Instant] = [:]
    private(set) var first421: ContinuousClock.Instant?
    private(set) var refusals = 0
    var acceptedCount: Int { senders.count }

    func accepted(_ sender: String, opened instant: ContinuousClock.Instant) {
        senders.insert(sender)
        opened[sender] = instant
    }

    func saw421(at instant: ContinuousClock.Instant) {
        if first421 == nil || instant < first421! { first421 = instant }
    }

    func refused(at instant: ContinuousClock.Instant) {
        refusals += 1
        saw421(at: instant)
    }

    func acceptedOpenedAfter(_ instant: ContinuousClock.Instant?) -> [String] {
        guard let instant else { return [] }
        return opened.filter { $0.value > instant }.map(\.key).sorted()
    }
}
