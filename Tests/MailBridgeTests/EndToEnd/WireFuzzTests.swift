import MailBridge
import TestSupport
import Testing

/// Random bytes (CR, LF, NUL, dots, 8-bit, commands) against a real listener: the server answers or closes,
/// never crashes, and keeps serving new connections (mox `FuzzServer` on the wire, seeded and bounded).
struct WireFuzzTests {
    static let fragments = [
        "EHLO f\r\n", "MAIL FROM:<>\r\n", "RCPT TO:<beratung@example.org>\r\n", "DATA\r\n", ".\r\n", "\r\n.\r\n",
        "\n.\n", "\r.\r", "RSET\r\n", "NOOP\r\n", "STARTTLS\r\n", "\r", "\n", "\0", ".", "..", "x",
        "MAIL FROM:<a@b> SIZE=99999999999\r\n", String(repeating: "y", count: 1500), "\u{FF}\u{FE}",
    ]

    @Test(arguments: 0..<8)
    func randomInputNeverBreaksTheServer(seed: UInt64) async throws {
        // The input is one pipelined blob on purpose (to reach every state), so the pipelining and non-mail
        // command limits, which would end it early, are lifted here; SMTPStressTests covers them.
        var configuration = SMTPServerConfiguration(
            hostname: "mx.test", maximumErrors: 1000, commandTimeout: .seconds(2), sessionDeadline: .seconds(10))
        configuration.rejectPipelinedData = false
        configuration.maximumJunkCommands = 1000
        let server = try await SMTPTestServer(configuration: configuration)
        var random = SeededGenerator(seed: seed)
        var client = try await RawSMTPClient.connect(port: server.port)
        #expect(try await client.readReply()?.code == 220)
        var input = ""
        for _ in 0..<300 { input += Self.fragments.randomElement(using: &random)! }
        try? await client.send(input + "\r\n.\r\nQUIT\r\n")
        let replies = try await client.readUntilClosed()
        #expect(replies.count > 50, "the input was processed, not dropped")
        #expect(replies.last?.code == 221 || replies.last?.code == 421)
        #expect(replies.allSatisfy { (200..<600).contains($0.code) }, "only well-formed replies")
        #expect(try server.pendingMessages().allSatisfy { $0.envelope.recipients == [SMTPTestServer.counselling] })

        var probe = try await RawSMTPClient.connect(port: server.port)
        #expect(try await probe.readReply()?.code == 220, "still serving")
        #expect(try await probe.command("QUIT") == 221)
        try await server.stop()
    }
}
