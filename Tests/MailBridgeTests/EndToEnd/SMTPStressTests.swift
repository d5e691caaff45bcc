import Foundation
@testable import MailBridge
import TestSupport
import Testing

/// Issue 18 (3): idle clients cannot lock others out. Near the connection limit the listener closes sessions
/// that move no mail (NOOPs are not progress), non-mail commands are capped, and text pipelined after DATA is
/// refused (Postfix's stress mode, `smtpd_junk_command_limit`, `reject_unauth_pipelining`).
@Suite(.timeLimit(.minutes(2)))
struct SMTPStressTests {
    private func configuration(maximumConnections: Int = 200) -> SMTPServerConfiguration {
        var configuration = SMTPServerConfiguration(
            hostname: "mx.test", commandTimeout: .seconds(30), maximumConnectionsPerIP: maximumConnections,
            maximumConnections: maximumConnections)
        configuration.stressCommandTimeout = .seconds(1)
        return configuration
    }

    /// Twenty idle clients hold every slot and keep sending NOOPs; a real client still delivers within
    /// seconds, and the idle ones are told 421.
    @Test func aNormalClientGetsThroughAnIdleFlood() async throws {
        let server = try await SMTPTestServer(configuration: configuration(maximumConnections: 20))
        var flood: [RawSMTPClient] = []
        for _ in 0..<20 {
            var client = try await RawSMTPClient.connect(port: server.port)
            #expect(try await client.readReply()?.code == 220)
            #expect(try await client.command("EHLO idle.example") == 250)
            flood.append(client)
        }
        // Every slot is taken; a newcomer (retrying as an MTA would) delivers within seconds while the flood goes on.
        let started = ContinuousClock.now
        var delivered = false
        while ContinuousClock.now - started < .seconds(8), !delivered {
            // The flood keeps sending NOOPs.
            for client in flood { try? await client.send("NOOP\r\n") }
            var client = try await RawSMTPClient.connect(port: server.port)
            guard try await client.readReply()?.code == 220 else {
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            #expect(try await client.command("EHLO real.example") == 250)
            #expect(try await client.command("MAIL FROM:<klient@example.net>") == 250)
            #expect(try await client.command("RCPT TO:<beratung@example.org>") == 250)
            #expect(try await client.command("DATA") == 354)
            delivered = try await client.command("Subject: hallo\r\n\r\nHallo\r\n.") == 250
            _ = try? await client.command("QUIT")
        }
        #expect(delivered, "no delivery while idle clients flooded the listener")
        #expect(ContinuousClock.now - started < .seconds(5))
        // The idle sessions were closed with 421.
        var closedWith421 = 0
        for var client in flood {
            let replies = (try? await client.readUntilClosed()) ?? []
            if replies.contains(where: { $0.code == 421 }) { closedWith421 += 1 }
        }
        #expect(closedWith421 >= 1)
        try await server.stop()
    }

    @Test func nonMailCommandsAreCapped() async throws {
        let server = try await SMTPTestServer(configuration: configuration())
        var client = try await RawSMTPClient.connect(port: server.port)
        #expect(try await client.readReply()?.code == 220)
        #expect(try await client.command("EHLO x.example") == 250)
        for _ in 0..<20 { #expect(try await client.command("NOOP") == 250) }
        #expect(try await client.command("RSET") == 421)
        try await server.stop()
    }

    /// Text sent after DATA without waiting for 354 is refused and the session closed, whether the recipients
    /// were refused (Postfix's reject_unauth_pipelining case) or accepted; a client that waits for 354 is served.
    @Test func textPipelinedAfterDataIsRefused() async throws {
        let server = try await SMTPTestServer(configuration: configuration())
        for recipient in ["nobody@example.org", "beratung@example.org"] {
            var client = try await RawSMTPClient.connect(port: server.port)
            #expect(try await client.readReply()?.code == 220)
            try await client.send("EHLO x.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<\(recipient)>\r\nDATA\r\n"
                                  + "Subject: smuggled\r\n\r\ntext\r\n.\r\nQUIT\r\n")
            let replies = try await client.readUntilClosed()
            #expect(replies.last?.code == 503, "\(recipient): \(replies.map(\.code))")
            #expect(!replies.contains { $0.code == 354 })
        }
        #expect(try server.pendingMessages().isEmpty)
        // Pipelining MAIL, RCPT and DATA as a group (RFC 2920) and then waiting is fine.
        var client = try await RawSMTPClient.connect(port: server.port)
        #expect(try await client.readReply()?.code == 220)
        #expect(try await client.command("EHLO x.example") == 250)
        try await client.send("MAIL FROM:<a@example.net>\r\nRCPT TO:<beratung@example.org>\r\nDATA\r\n")
        #expect(try await client.readReply()?.code == 250)
        #expect(try await client.readReply()?.code == 250)
        #expect(try await client.readReply()?.code == 354)
        #expect(try await client.command("Subject: ok\r\n\r\ntext\r\n.") == 250)
        #expect(try server.pendingMessages().count == 1)
        try await server.stop()
    }

    @Test(arguments: [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "20010db800010002::/64"),
        ("2001:db8:1:2::99", "20010db800010002::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("unknown", "unknown"),
    ])
    func connectionsAreCountedPerIPv4AddressAndPerIPv6Slash64(ip: String, key: String) {
        #expect(ConnectionLimiter.limitKey(ip) == key)
    }
}
