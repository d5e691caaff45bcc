import Foundation
import MailBridge
import Testing

/// Real SMTP clients against the listener, with STARTTLS: `swaks` (Debian package) and Python's `smtplib`.
struct RealClientTests {
    @Test(arguments: [false, true])
    func swaksDeliversOverSTARTTLS(pipelining: Bool) async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let server = try await SMTPTestServer(tls: certificate.tls)
        var arguments = [
            "--server", "127.0.0.1", "--port", "\(server.port)", "--to", "beratung@example.org",
            "--from", "client@example.net", "--helo", "swaks.test", "--tls",
            "--header", "Subject: from swaks", "--body", "line one\n.line with leading dot\nlast line",
        ]
        if pipelining { arguments.append("--pipeline") }
        let result = try await ExternalProcess.run("swaks", arguments)
        #expect(result.status == 0, "swaks failed: \(result.output)")
        #expect(result.output.contains("<~  250 2.0.0 queued as"), "the 250 came over TLS")
        let message = try #require(try server.pendingMessages().first)
        let content = try String(contentsOf: message.spoolFile, encoding: .utf8)
        #expect(content.contains("\r\n.line with leading dot\r\n"))
        #expect(content.contains("Subject: from swaks\r\n"))
        try await server.stop()
    }

    @Test func swaksRelayAttemptIsRefused() async throws {
        let server = try await SMTPTestServer()
        let result = try await ExternalProcess.run(
            "swaks",
            [
                "--server", "127.0.0.1", "--port", "\(server.port)", "--to", "victim@elsewhere.example",
                "--from", "client@example.net", "--helo", "swaks.test",
            ]
        )
        #expect(result.status != 0)
        #expect(result.output.contains("550 5.1.1"))
        #expect(try server.pendingMessages().isEmpty)
        try await server.stop()
    }

    static let pythonClient = #"""
        import smtplib, ssl, sys
        port = int(sys.argv[1])
        s = smtplib.SMTP("127.0.0.1", port, timeout=20)
        s.ehlo("python.test")
        assert s.has_extn("starttls") and s.has_extn("pipelining") and s.has_extn("smtputf8")
        assert int(s.esmtp_features["size"]) == 65536
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo("python.test")
        assert not s.has_extn("starttls"), "STARTTLS must not be offered again"
        msg = "Subject: from python\r\n\r\n.leading dot\r\nplain line\n"
        refused = s.sendmail("client@example.net", ["beratung@example.org", "nobody@elsewhere.example"], msg)
        assert list(refused) == ["nobody@elsewhere.example"] and refused["nobody@elsewhere.example"][0] == 550, refused
        try:
            # smtplib announces SIZE=<length> itself (RFC 1870); the server refuses at MAIL.
            s.sendmail("client@example.net", ["beratung@example.org"], ("x" * 98 + "\r\n") * 1000)
            print("oversize accepted")
        except smtplib.SMTPSenderRefused as e:
            assert e.smtp_code == 552, e
        s.quit()
        print("python ok")
        """#

    @Test func pythonSMTPLibDeliversOverSTARTTLS() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let server = try await SMTPTestServer(
            configuration: SMTPServerConfiguration(maximumMessageSize: 65536),
            tls: certificate.tls
        )
        let result = try await ExternalProcess.run("python3", ["-c", Self.pythonClient, "\(server.port)"])
        #expect(result.status == 0, "python failed: \(result.output)")
        #expect(result.output.contains("python ok"))
        let pending = try server.pendingMessages()
        #expect(pending.count == 1)
        let message = try #require(pending.first)
        #expect(message.envelope.recipients == [SMTPTestServer.counselling])
        let content = try String(contentsOf: message.spoolFile, encoding: .utf8)
        #expect(content == "Subject: from python\r\n\r\n.leading dot\r\nplain line\r\n")
        try await server.stop()
    }
}
