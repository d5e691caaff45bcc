import Foundation
import MailBridge
import MailValues
import NIOCore
import Testing

/// The real client against a real SMTP server (aiosmtpd) on loopback (STYLE.md §14c).
@Suite(.timeLimit(.minutes(2)))
struct SMTPClientSinkTests {
    static let sender = try! EmailAddress("gateway@example.org")
    static let recipient = try! EmailAddress("client@example.net")
    static let credentials = SMTPCredentials(username: "relay", password: "s3cret")

    static func client(
        port: Int, tls: SMTPClientConfiguration.TLSMode = .none, host: String = "localhost", ca: OutboundTestCA? = nil,
        credentials: SMTPCredentials? = nil
    ) -> SMTPClient {
        SMTPClient(
            configuration: SMTPClientConfiguration(
                host: tls == .none ? "127.0.0.1" : host, port: port, connectAddress: "127.0.0.1", tlsMode: tls,
                trustRoots: ca.map { .caFile($0.caPath) } ?? .system, credentials: credentials,
                heloName: "gateway.test", stepTimeout: .seconds(10), deliveryTimeout: .seconds(30)))
    }

    static func message(_ canary: String = UUID().uuidString) -> String {
        "Message-ID: <\(canary)@gateway.test>\r\nSubject: test\r\n\r\nline one\r\n.\r\n..two dots\r\n"
            + ".hidden line\r\n \r\nCANARY-\(canary)\r\nend\r\n"
    }

    static let envelope = OutboundEnvelope(reversePath: .mailbox(sender), recipients: [recipient])

    @Test func deliversExactBytesWithDotStuffingRoundTrip() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let message = Self.message()
        let result = await Self.client(port: sink.port).deliver(
            OutboundEnvelope(reversePath: .null, recipients: [Self.recipient]), message: ByteBuffer(string: message))
        #expect(result == .delivered(.ok, EnhancedStatusCode(2, 0, 0)))
        // Exactly the bytes we were given: nothing added, nothing lost, dots restored by the receiver.
        #expect(sink.messages() == [Data(message.utf8)])
        let mail = sink.events("mail")
        #expect(mail.count == 1)
        #expect(mail.first?["sender"] as? String == "<>", "null reverse path")
        #expect((mail.first?["options"] as? [String]) == ["SIZE=\(message.utf8.count)"])
        #expect(sink.events("rcpt").first?["recipient"] as? String == "client@example.net")
    }

    @Test func temporaryFailureThenSuccess() async throws {
        let sink = try OutboundSink.start(.init(dataReplies: ["451 4.3.0 try again later"]))
        defer { sink.stop() }
        let client = Self.client(port: sink.port)
        let message = ByteBuffer(string: Self.message())
        let first = await client.deliver(Self.envelope, message: message)
        #expect(first == .temporaryFailure(
            DeliveryFailure(.rejected, step: .endOfData, reply: .localError, enhanced: EnhancedStatusCode(4, 3, 0))))
        #expect(sink.messages().isEmpty)
        let second = await client.deliver(Self.envelope, message: message)
        #expect(second.isDelivered)
        #expect(sink.messages() == [Data(message.readableBytesView)])
    }

    @Test func permanentFailure() async throws {
        let sink = try OutboundSink.start(.init(rcptReply: "550 5.1.1 no such user"))
        defer { sink.stop() }
        let result = await Self.client(port: sink.port)
            .deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result == .permanentFailure(
            DeliveryFailure(.rejected, step: .rcptTo, reply: .mailboxUnavailable, enhanced: .badDestinationMailbox)))
        #expect(sink.events("data").isEmpty, "no DATA after a refused recipient")
    }

    @Test func startTLSRequiredButNotOfferedSendsNothing() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let result = await Self.client(port: sink.port, tls: .startTLS, credentials: Self.credentials)
            .deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result == .temporaryFailure(DeliveryFailure(.tlsRequiredButUnavailable, step: .startTLS)))
        #expect(sink.events().isEmpty, "no MAIL, RCPT, AUTH or DATA reached the server")
    }

    @Test func startTLSWithWrongHostNameIsRefused() async throws {
        let ca = try OutboundTestCA.make()
        defer { ca.remove() }
        let sink = try OutboundSink.start(.init(certificate: try ca.leaf(dnsName: "localhost")))
        defer { sink.stop() }
        let result = await Self.client(port: sink.port, tls: .startTLS, host: "smarthost.example.org", ca: ca)
            .deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result.failure?.code == .tlsFailed)
        #expect(!result.isDelivered && result.failure?.isPermanent == false)
        #expect(sink.events().isEmpty)
    }

    @Test func startTLSWithUntrustedCAIsRefused() async throws {
        let ca = try OutboundTestCA.make()
        defer { ca.remove() }
        let sink = try OutboundSink.start(.init(certificate: try ca.leaf(dnsName: "localhost")))
        defer { sink.stop() }
        // Right name, but the system store does not know our test CA.
        let result = await Self.client(port: sink.port, tls: .startTLS, host: "localhost")
            .deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result.failure?.code == .tlsFailed)
        #expect(sink.events().isEmpty)
    }

    @Test func startTLSThenAuthThenDelivery() async throws {
        let ca = try OutboundTestCA.make()
        defer { ca.remove() }
        let sink = try OutboundSink.start(
            .init(certificate: try ca.leaf(dnsName: "localhost"), credentials: ("relay", "s3cret")))
        defer { sink.stop() }
        let message = Self.message()
        let result = await Self.client(port: sink.port, tls: .startTLS, ca: ca, credentials: Self.credentials)
            .deliver(Self.envelope, message: ByteBuffer(string: message))
        #expect(result.isDelivered)
        let auth = sink.events("auth")
        #expect(auth.count == 1)
        #expect(auth.first?["tls"] as? Bool == true, "AUTH only after TLS")
        #expect(auth.first?["ok"] as? Bool == true)
        #expect(sink.events("mail").first?["tls"] as? Bool == true)
        #expect(sink.events("mail").first?["authenticated"] as? Bool == true)
        #expect(sink.messages() == [Data(message.utf8)])
    }

    @Test func implicitTLSWithWrongPasswordIsPermanent() async throws {
        let ca = try OutboundTestCA.make()
        defer { ca.remove() }
        let sink = try OutboundSink.start(
            .init(certificate: try ca.leaf(dnsName: "localhost"), implicitTLS: true, credentials: ("relay", "other")))
        defer { sink.stop() }
        let result = await Self.client(port: sink.port, tls: .implicit, ca: ca, credentials: Self.credentials)
            .deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result.failure?.code == .rejected)
        #expect(result.failure?.step == .auth)
        #expect(result.failure?.reply == ReplyCode(535))
        #expect(result.failure?.isPermanent == true)
        #expect(sink.events("auth").first?["tls"] as? Bool == true)
        #expect(sink.events("mail").isEmpty)
    }

    @Test func implicitTLSDelivers() async throws {
        let ca = try OutboundTestCA.make()
        defer { ca.remove() }
        let sink = try OutboundSink.start(.init(certificate: try ca.leaf(dnsName: "localhost"), implicitTLS: true))
        defer { sink.stop() }
        let message = Self.message()
        let result = await Self.client(port: sink.port, tls: .implicit, ca: ca)
            .deliver(Self.envelope, message: ByteBuffer(string: message))
        #expect(result.isDelivered)
        #expect(sink.events("mail").first?["tls"] as? Bool == true)
        #expect(sink.messages() == [Data(message.utf8)])
    }

    @Test func implicitTLSWithUntrustedCAIsRefused() async throws {
        let ca = try OutboundTestCA.make()
        defer { ca.remove() }
        let sink = try OutboundSink.start(.init(certificate: try ca.leaf(dnsName: "localhost"), implicitTLS: true))
        defer { sink.stop() }
        let result = await Self.client(port: sink.port, tls: .implicit)
            .deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result.failure?.code == .tlsFailed)
        #expect(sink.events().isEmpty)
    }

    /// The one exception: explicit `tlsMode: .none` to a loopback sink may authenticate in clear.
    @Test func clearAuthOnlyToExplicitLoopbackSink() async throws {
        let sink = try OutboundSink.start(.init(credentials: ("relay", "s3cret"), authInClear: true))
        defer { sink.stop() }
        let result = await Self.client(port: sink.port, tls: .none, credentials: Self.credentials)
            .deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result.isDelivered)
        #expect(sink.events("auth").first?["tls"] as? Bool == false)
        #expect(sink.events("auth").first?["ok"] as? Bool == true)
    }

    @Test func utf8RecipientUsesSMTPUTF8() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let envelope = OutboundEnvelope(
            reversePath: .mailbox(Self.sender), recipients: [try EmailAddress("jürgen@example.net")])
        let message = Self.message()
        let result = await Self.client(port: sink.port).deliver(envelope, message: ByteBuffer(string: message))
        #expect(result.isDelivered)
        #expect((sink.events("mail").first?["options"] as? [String])?.contains("SMTPUTF8") == true)
        #expect(sink.events("rcpt").first?["recipient"] as? String == "jürgen@example.net")
    }

    @Test func malformedMessageIsNeverSent() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let result = await Self.client(port: sink.port).deliver(
            Self.envelope, message: ByteBuffer(string: "Subject: x\r\n\r\nsmuggled\n.\r\nMAIL FROM:<x@y>\r\n"))
        #expect(result == .permanentFailure(DeliveryFailure(.messageInvalid)))
        #expect(sink.events().isEmpty)
    }

    @Test func clearTextToRemoteHostIsRefusedWithoutConnecting() async {
        let client = SMTPClient(
            configuration: SMTPClientConfiguration(
                host: "smtp.example.org", port: 25, tlsMode: .none, heloName: "gateway.test"))
        let result = await client.deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result == .temporaryFailure(DeliveryFailure(.configurationInvalid)))
    }

    @Test func connectionRefusedIsTemporary() async throws {
        // A port that was just free: bind the sink, stop it, then connect.
        let sink = try OutboundSink.start()
        let port = sink.port
        sink.stop()
        let result = await Self.client(port: port).deliver(Self.envelope, message: ByteBuffer(string: Self.message()))
        #expect(result == .temporaryFailure(DeliveryFailure(.connectionFailed, step: .connect)))
    }
}
