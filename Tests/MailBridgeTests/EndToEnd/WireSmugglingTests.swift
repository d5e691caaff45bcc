import Foundation
import MailBridge
import Testing

/// SMTP smuggling and STARTTLS injection against the real listener: every sequence is refused and the session
/// stays in sync (the smuggled commands never get a reply of their own).
struct WireSmugglingTests {
    static let smuggled = "MAIL FROM:<evil@example.net>\r\nRCPT TO:<beratung@example.org>\r\nDATA\r\nforged\r\n"

    @Test(arguments: SmugglingTests.fakeTerminators)
    func fakeEndOfDataIsRejectedOnTheWire(_ fake: String) async throws {
        let server = try await SMTPTestServer()
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        #expect(try await client.command("EHLO c") == 250)
        #expect(try await client.command("MAIL FROM:<client@example.net>") == 250)
        #expect(try await client.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try await client.command("DATA") == 354)
        try await client.send("Subject: hi\r\n\r\nbody" + fake + Self.smuggled + ".\r\nNOOP\r\n")
        let rejected = try await client.readReply()
        #expect(rejected?.code == 554, "fake terminator \(fake.debugDescription)")
        #expect(try await client.readReply()?.code == 250, "the NOOP after the real end gets the next reply")
        #expect(try await client.command("QUIT") == 221)
        #expect(try server.pendingMessages().isEmpty)
        try await server.stop()
    }

    @Test(arguments: ["NOOP\rRSET\r\n", "NOOP\r\r\n", "MAIL FROM:<a@example.net>\rRCPT TO:<x@example.org>\r\n"])
    func bareCRInCommandsIsRejected(_ line: String) async throws {
        let server = try await SMTPTestServer()
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        #expect(try await client.command("EHLO c") == 250)
        try await client.send(line)
        #expect(try await client.readReply()?.code == 500)
        #expect(try await client.command("NOOP") == 250)
        try await server.stop()
    }

    @Test func bareLFEndsNoCommand() async throws {
        let server = try await SMTPTestServer()
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        try await client.send("EHLO c\nNOOP\r\n")
        #expect(try await client.readReply()?.code == 500, "EHLO with bare LF is refused")
        #expect(try await client.readReply()?.code == 250)
        #expect(try await client.command("MAIL FROM:<>") == 503, "the refused EHLO did not greet")
        try await server.stop()
    }

    @Test func plaintextPipelinedAfterStartTLSIsRefused() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let server = try await SMTPTestServer(tls: certificate.tls)
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        try await client.send("EHLO c\r\n")
        #expect(try await client.readReply()?.lines.last == "250 STARTTLS")
        try await client.send("STARTTLS\r\nRSET\r\n")
        let replies = try await client.readUntilClosed()
        #expect(replies.map(\.code) == [554], "no 220, no reply to the injected RSET; connection closed")
        try await server.stop()
    }

    @Test func plaintextAfter220IsNotExecuted() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let server = try await SMTPTestServer(tls: certificate.tls)
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        #expect(try await client.command("EHLO c") == 250)
        #expect(try await client.command("STARTTLS") == 220)
        try await client.send("MAIL FROM:<>\r\nRCPT TO:<beratung@example.org>\r\n")
        let replies = (try? await client.readUntilClosed()) ?? []
        #expect(replies.isEmpty, "plaintext after 220 goes to the TLS handshake, which fails and closes")
        try await server.stop()
    }
}
