import Foundation
import MailBridge
import MailValues
import NIOCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10: the gateway's memory stays bounded while several clients send large messages at the same time.
/// Runs the real `mailbridge serve` binary (its own process, so parallel tests do not disturb the figures) and
/// reads its peak resident set (VmHWM, proc(5)) after `clients` senders have each sent one message of `size`
/// octets at the same time and the pipeline has processed every message.
///
/// The bound: the peak may exceed the idle resident set by at most three quarters of the data in flight. DATA
/// streams to the spool in 64 KiB writes and the pipeline holds one large message at a time (the runner's
/// large-message gate), so the growth is one message with its parse plus a fixed part for connections and the
/// store (debug build, 6 × 8 MiB: +29 MiB). Without `ProcessMemory.configureForLargeMessages()` glibc's dynamic
/// mmap threshold kept freed message buffers in the heap arenas: +70 MiB for the same load (and in release,
/// 20 × 25 MiB grew from 43 to 253 MiB).
@Suite struct LargeMessageMemoryTests {
    static let clients = 6
    static let size = 8 * 1024 * 1024

    @Test(.timeLimit(.minutes(5))) func peakMemoryWhileClientsSendLargeMessagesIsBounded() async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product first")
        let daemon = try GatewayDaemon(name: "memory", smtp: """
            max-connections-per-ip = 100
            max-connections = 100
            max-message-size = \(Self.size + 1024 * 1024)
            min-data-rate = 0
            """, sections: """
            [[mailbox]]
            address = "beratung@localhost"
            field = "allgemein"
            team-notification-address = "beratung@localhost"
            redirect-link = "https://beratung.example/login"
            language = "de"
            [metrics]
            enabled = false
            """)
        let port = daemon.port
        let gateway = try daemon.launch()
        defer {
            if gateway.isRunning {
                gateway.terminate()
                gateway.waitUntilExit()
            }
            daemon.remove()
        }
        func logLines(containing text: String) -> Int { daemon.logLines(containing: text) }
        func wait(seconds: Int, until condition: () -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while !condition() {
                guard ContinuousClock.now < deadline else { return false }
                try await Task.sleep(for: .milliseconds(100))
            }
            return true
        }
        try #require(try await wait(seconds: 60) { FreePort.isListening(port) }, "the gateway did not start")
        try await Task.sleep(for: .seconds(1))
        let idle = try #require(Self.status(gateway.processIdentifier, "VmRSS"))

        // All sessions at once, one message each, each from its own sender (so the runner's sender lanes could
        // process them in parallel; the large-message gate must keep them one at a time).
        let client = SMTPClient(configuration: SMTPClientConfiguration(
            host: "127.0.0.1", port: port, tlsMode: .none, heloName: "memory.test", stepTimeout: .seconds(120)))
        var filler = ByteBuffer()
        let line = String(repeating: "0123456789", count: 7) + "abcdef\r\n"  // 78 octets with CRLF
        while filler.readableBytes < Self.size - 1024 { filler.writeString(line) }
        let body = filler
        let delivered = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<Self.clients {
                group.addTask {
                    var message = ByteBuffer(string: "From: klient\(index)@example.net\r\nTo: beratung@localhost\r\n"
                        + "Subject: Datei \(index)\r\nMessage-ID: <memory-\(index)-\(UUID())@example.net>\r\n\r\n")
                    message.writeImmutableBuffer(body)
                    guard let sender = try? EmailAddress("klient\(index)@example.net"),
                        let recipient = try? EmailAddress("beratung@localhost")
                    else { return false }
                    let envelope = OutboundEnvelope(reversePath: .mailbox(sender), recipients: [recipient])
                    return await client.deliver(envelope, message: message).isDelivered
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(delivered == Self.clients)
        let processed = try await wait(seconds: 120) { logLines(containing: "inbound processed") >= Self.clients }
        #expect(processed, "the pipeline processed \(logLines(containing: "inbound processed")) messages")
        #expect(logLines(containing: "message accepted") == Self.clients)
        let peak = try #require(Self.status(gateway.processIdentifier, "VmHWM"))

        let inFlight = Self.clients * Self.size / 1024
        let growth = peak - idle
        #expect(growth <= inFlight * 3 / 4,
                "peak \(peak / 1024) MiB, idle \(idle / 1024) MiB: grew \(growth / 1024) MiB with \(inFlight / 1024) MiB in flight")
    }

    /// A `Vm…` line of /proc/PID/status in KiB.
    static func status(_ pid: Int32, _ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}
