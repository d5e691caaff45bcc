import Foundation
import Logging
import MailBridge
import MailValues
import NIOCore
import TestSupport
import Testing

/// The client against scripted servers that misbehave (STYLE.md §14d: named security regressions).
@Suite(.timeLimit(.minutes(2)))
struct SMTPClientEdgeCaseTests {
    typealias Step = OutboundScriptedServer.Step
    static let envelope = OutboundEnvelope(
        reversePath: .mailbox(try! EmailAddress("gateway@example.org")),
        recipients: [try! EmailAddress("client@example.net")])
    static let message = ByteBuffer(string: "Subject: t\r\n\r\nbody\r\n")

    static func client(
        _ server: OutboundScriptedServer, tls: SMTPClientConfiguration.TLSMode = .none,
        stepTimeout: Duration = .seconds(5), logger: Logger = Logger(label: "test.client")
    ) -> SMTPClient {
        SMTPClient(
            configuration: SMTPClientConfiguration(
                host: tls == .none ? "127.0.0.1" : "localhost", port: server.port, connectAddress: "127.0.0.1",
                tlsMode: tls, heloName: "gateway.test", stepTimeout: stepTimeout, deliveryTimeout: .seconds(20)),
            logger: logger)
    }

    static let greetingAndEHLO = [
        Step(read: false, send: "220 raw.test ESMTP\r\n"), Step(send: "250-raw.test\r\n250 8BITMIME\r\n"),
    ]

    /// RFC 3207 §5 / CVE-2011-0411 shape: the server answers STARTTLS and appends plaintext in the same packet.
    @Test func plaintextInjectedAfterStartTLSIsRefused() async throws {
        let server = try OutboundScriptedServer.start([
            Step(read: false, send: "220 raw.test ESMTP\r\n"), Step(send: "250-raw.test\r\n250 STARTTLS\r\n"),
            Step(send: "220 go ahead\r\n250 injected\r\n"),
        ])
        defer { server.stop() }
        let result = await Self.client(server, tls: .startTLS).deliver(Self.envelope, message: Self.message)
        #expect(result == .temporaryFailure(DeliveryFailure(.tlsFailed, step: .tlsHandshake)))
        let received = server.received()
        #expect(received == "EHLO gateway.test\r\nSTARTTLS\r\n", "no TLS handshake started, nothing else sent")
    }

    @Test(arguments: [
        "250 ok\n",  // bare LF
        "250-a\r\n251 b\r\n",  // code changes inside a reply
        "2X0 what\r\n",
        "250-" + String(repeating: "x", count: 2000) + "\r\n250 ok\r\n",  // overlong line
        String(repeating: "250-k\r\n", count: 100) + "250 ok\r\n",  // too many lines
    ])
    func malformedEHLOReplyEndsTheAttempt(_ reply: String) async throws {
        let server = try OutboundScriptedServer.start([
            Step(read: false, send: "220 raw.test ESMTP\r\n"), Step(send: reply),
        ])
        defer { server.stop() }
        let result = await Self.client(server).deliver(Self.envelope, message: Self.message)
        #expect(result == .temporaryFailure(DeliveryFailure(.malformedReply, step: .ehlo)))
        #expect(!server.received().contains("MAIL"))
    }

    @Test func silentServerTimesOutPerStep() async throws {
        let server = try OutboundScriptedServer.start([Step(read: false, send: "")])
        defer { server.stop() }
        let started = ContinuousClock.now
        let result = await Self.client(server, stepTimeout: .milliseconds(500)).deliver(
            Self.envelope, message: Self.message)
        let elapsed = ContinuousClock.now - started
        #expect(result == .temporaryFailure(DeliveryFailure(.timeout, step: .greeting)))
        #expect(elapsed < .seconds(3), "took \(elapsed)")
    }

    @Test func dropAfterEndOfDataIsRetried() async throws {
        let server = try OutboundScriptedServer.start(
            Self.greetingAndEHLO + [
                Step(send: "250 ok\r\n"), Step(send: "250 ok\r\n"), Step(send: "354 go\r\n"),
                Step(send: ""), Step(send: ""), Step(send: ""),  // the three body lines
                Step(send: "", close: true),  // the final "." — and hang up without a reply
            ])
        defer { server.stop() }
        let result = await Self.client(server).deliver(Self.envelope, message: Self.message)
        #expect(result == .temporaryFailure(DeliveryFailure(.connectionClosed, step: .endOfData)))
    }

    @Test func heloFallbackAndServiceClosing() async throws {
        let server = try OutboundScriptedServer.start([
            Step(read: false, send: "220 raw.test SMTP\r\n"), Step(send: "502 5.5.1 no EHLO\r\n"),
            Step(send: "250 raw.test\r\n"), Step(send: "421 4.3.2 shutting down\r\n"),
        ])
        defer { server.stop() }
        let result = await Self.client(server).deliver(Self.envelope, message: Self.message)
        #expect(result == .temporaryFailure(
            DeliveryFailure(
                .serverClosing, step: .mailFrom, reply: .serviceNotAvailable, enhanced: .systemNotAccepting)))
        let received = server.received()
        #expect(received.hasPrefix("EHLO gateway.test\r\nHELO gateway.test\r\nMAIL FROM:<gateway@example.org>\r\n"))
        #expect(!received.contains("QUIT"), "no QUIT after 421 (RFC 5321 §3.8)")
    }

    /// Logs carry steps and codes only: no addresses, no content, no credentials, no server text.
    @Test func logsHoldNoPersonalDataEvenAtTrace() async throws {
        let canary = "CANARY-\(UUID().uuidString)"
        let server = try OutboundScriptedServer.start(
            Self.greetingAndEHLO + [
                Step(send: "250 ok sender client@example.net \(canary)\r\n"), Step(send: "250 ok\r\n"),
                Step(send: "354 go\r\n"), Step(send: ""), Step(send: ""), Step(send: ""),
                Step(send: "250 2.0.0 queued for client@example.net\r\n"), Step(send: "221 bye\r\n"),
            ])
        defer { server.stop() }
        let records = LogCapture()
        let logger = records.logger("test.capture")
        let message = ByteBuffer(string: "Subject: \(canary)\r\n\r\n\(canary)\r\n")
        let result = await Self.client(server, logger: logger).deliver(Self.envelope, message: message)
        #expect(result.isDelivered)
        let text = records.all.joined(separator: "\n")
        #expect(!text.isEmpty)
        #expect(!text.contains("example"), "no address")
        #expect(!text.contains(canary), "no content or server text")
        #expect(server.received().contains(canary), "the message itself went out")
    }
}
