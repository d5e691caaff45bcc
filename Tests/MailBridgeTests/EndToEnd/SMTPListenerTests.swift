import Foundation
import MailBridge
import MailValues
import NIOCore
import Testing

/// In-process end-to-end tests: a real listener on 127.0.0.1:0, raw clients, a real spool (STYLE.md §14c).
struct SMTPListenerTests {
    static let message = "Subject: test\r\n\r\nHello\r\n..dot-stuffed line\r\n"

    /// Greets, opens a transaction for the counselling address and sends DATA; returns the final reply.
    static func deliver(
        _ client: inout RawSMTPClient,
        body: String = message,
        from: String = "<client@example.net>"
    ) async throws -> RawSMTPClient.Reply? {
        #expect(try await client.command("EHLO client.test") == 250)
        #expect(try await client.command("MAIL FROM:\(from)") == 250)
        #expect(try await client.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try await client.command("DATA") == 354)
        try await client.send(body + ".\r\n")
        return try await client.readReply()
    }

    @Test func acceptedMessageIsSpooledExactly() async throws {
        let server = try await SMTPTestServer()
        var client = try await RawSMTPClient.connect(port: server.port)
        let greeting = try await client.readReply()
        #expect(greeting?.code == 220)
        let reply = try await Self.deliver(&client)
        #expect(reply?.code == 250)
        let pending = try server.pendingMessages()
        #expect(pending.count == 1)
        let message = try #require(pending.first)
        #expect(reply?.lines.first?.contains(message.queueID.rawValue) == true)
        #expect(
            try String(contentsOf: message.spoolFile, encoding: .utf8)
                == "Subject: test\r\n\r\nHello\r\n.dot-stuffed line\r\n"
        )
        #expect(message.envelope.recipients == [SMTPTestServer.counselling])
        #expect(message.envelope.reversePath.address?.unredactedDescription == "client@example.net")
        #expect(message.envelope.clientAddress?.unredactedDescription == "127.0.0.1")
        #expect(try await client.command("QUIT") == 221)
        await client.close()
        try await server.stop()
    }

    @Test func pipelinedCommandsGetRepliesInOrder() async throws {
        let server = try await SMTPTestServer()
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        try await client.send(
            "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<team@example.org>\r\nDATA\r\n"
        )
        var codes: [Int] = []
        for _ in 0..<5 { codes.append(try await client.readReply()?.code ?? -1) }
        #expect(codes == [250, 250, 550, 250, 354])
        try await client.send("x\r\n.\r\nQUIT\r\n")
        #expect(try await client.readReply()?.code == 250)
        #expect(try await client.readUntilClosed().map(\.code) == [221])
        #expect(try server.pendingMessages().count == 1)
        try await server.stop()
    }

    @Test func nullSenderAndUTF8AreAccepted() async throws {
        let server = try await SMTPTestServer()
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        let reply = try await Self.deliver(&client, from: "<> BODY=8BITMIME SMTPUTF8")
        #expect(reply?.code == 250)
        let message = try #require(try server.pendingMessages().first)
        #expect(message.envelope.reversePath == .null)
        #expect(message.envelope.smtpUTF8 && message.envelope.eightBitMIME)
        await client.close()
        try await server.stop()
    }

    @Test func oversizeBySizeParameterAndByStreaming() async throws {
        let server = try await SMTPTestServer(configuration: SMTPServerConfiguration(maximumMessageSize: 2000))
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        try await client.send("EHLO c\r\n")
        let features = try #require(try await client.readReply())
        #expect(features.lines.contains("250-SIZE 2000"))
        #expect(try await client.command("MAIL FROM:<> SIZE=2001") == 552)
        #expect(try await client.command("MAIL FROM:<> SIZE=100") == 250, "SIZE lies; the stream is checked too")
        #expect(try await client.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try await client.command("DATA") == 354)
        let big = String(repeating: String(repeating: "x", count: 98) + "\r\n", count: 100)  // 10000 octets
        try await client.send("Subject: big\r\n\r\n" + big + ".\r\n")
        let reply = try await client.readReply()
        #expect(reply?.code == 552)
        #expect(reply?.lines.first?.contains("5.3.4") == true)
        #expect(try await client.command("NOOP") == 250, "session still in sync")
        #expect(try server.pendingMessages().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: server.spool.temporaryFolder.path).isEmpty)
        await client.close()
        try await server.stop()
    }

    @Test func tooManyRecipientsAndUnknownRecipients() async throws {
        let server = try await SMTPTestServer(configuration: SMTPServerConfiguration(maximumRecipients: 1))
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        #expect(try await client.command("EHLO c") == 250)
        #expect(try await client.command("MAIL FROM:<>") == 250)
        #expect(try await client.command("RCPT TO:<someone@elsewhere.example>") == 550, "no relay")
        #expect(try await client.command("RCPT TO:<beratung@example.org>") == 250)
        try await client.send("RCPT TO:<team@example.org>\r\n")
        let reply = try await client.readReply()
        #expect(reply?.code == 452 && reply?.lines.first?.contains("4.5.3") == true)
        await client.close()
        try await server.stop()
    }

    @Test func overlongCommandLineIsRefusedAndSessionStaysInSync() async throws {
        let server = try await SMTPTestServer()
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        #expect(try await client.command("NOOP " + String(repeating: "a", count: 5000)) == 500)
        #expect(try await client.command("NOOP") == 250)
        await client.close()
        try await server.stop()
    }

    @Test func tooManyErrorsCloseTheConnection() async throws {
        let server = try await SMTPTestServer(configuration: SMTPServerConfiguration(maximumErrors: 3))
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        try await client.send("BAD1\r\nBAD2\r\nBAD3\r\nNOOP\r\n")
        let codes = try await client.readUntilClosed().map(\.code)
        #expect(codes == [500, 500, 500, 421])
        try await server.stop()
    }

    @Test func failedIntakeAnswers451AndCleansUp() async throws {
        struct FailingIntake: MessageIntake {
            let spool: SpoolIntake
            func makeSpoolFile(queueID: QueueID) throws -> SpoolFile { try spool.makeSpoolFile(queueID: queueID) }
            func backlogCount() -> Int { spool.backlogCount() }
            func accept(_ message: InboundMessage) async throws -> IntakeReceipt { throw SpoolError(.sync, errno: 5) }
        }
        let server = try await SMTPTestServer(intake: { FailingIntake(spool: $0) })
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        let reply = try await Self.deliver(&client)
        #expect(reply?.code == 451)
        #expect(reply?.lines.first?.contains("4.3.0") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: server.spool.temporaryFolder.path).isEmpty)
        #expect(try server.pendingMessages().isEmpty)
        #expect(try await client.command("NOOP") == 250)
        await client.close()
        try await server.stop()
    }

    @Test func hundredConcurrentClients() async throws {
        let server = try await SMTPTestServer(
            configuration: SMTPServerConfiguration(maximumConnectionsPerIP: 200, maximumConnections: 200)
        )
        let port = server.port
        let clock = ContinuousClock()
        let start = clock.now
        let codes = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<100 {
                group.addTask {
                    var client = try await RawSMTPClient.connect(port: port)
                    _ = try await client.readReply()
                    let body = "Subject: \(index)\r\n\r\n" + String(repeating: "line \(index)\r\n", count: 450)
                    let reply = try await SMTPListenerTests.deliver(&client, body: body)
                    _ = try await client.command("QUIT")
                    await client.close()
                    return reply?.code ?? -1
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = clock.now - start
        print("100 concurrent SMTP sessions (4 KB messages) accepted in \(elapsed)")
        #expect(codes.count == 100 && codes.allSatisfy { $0 == 250 })
        let pending = try server.pendingMessages()
        #expect(pending.count == 100)
        #expect(Set(pending.map(\.queueID)).count == 100)
        try await server.stop()
    }

    @Test func perIPConnectionLimit() async throws {
        let server = try await SMTPTestServer(configuration: SMTPServerConfiguration(maximumConnectionsPerIP: 2))
        var first = try await RawSMTPClient.connect(port: server.port)
        var second = try await RawSMTPClient.connect(port: server.port)
        #expect(try await first.readReply()?.code == 220)
        #expect(try await second.readReply()?.code == 220)
        var third = try await RawSMTPClient.connect(port: server.port)
        let refused = try await third.readUntilClosed()
        #expect(refused.map(\.code) == [421])
        #expect(refused.first?.lines.first?.contains("4.7.0") == true)
        #expect(try await first.command("QUIT") == 221)
        await first.close()
        // The slot is released once the first session ended.
        var fourth: RawSMTPClient?
        for _ in 0..<50 {
            var candidate = try await RawSMTPClient.connect(port: server.port)
            if try await candidate.readReply()?.code == 220 {
                fourth = candidate
                break
            }
            await candidate.close()
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(fourth != nil)
        await fourth?.close()
        await second.close()
        try await server.stop()
    }
}

extension SMTPListenerTests {
    /// A client that says QUIT and reconnects at once (as smtp-source and MTAs with connection caching do) must
    /// not find its previous session still counted against the per-IP limit.
    @Test func quitThenImmediateReconnectIsNotRefused() async throws {
        let server = try await SMTPTestServer(configuration: SMTPServerConfiguration(maximumConnectionsPerIP: 3))
        var clients: [RawSMTPClient] = []
        for _ in 0..<3 {
            var client = try await RawSMTPClient.connect(port: server.port)
            #expect(try await client.readReply()?.code == 220)
            clients.append(client)
        }
        var refusals = 0
        for round in 0..<60 {
            var client = clients[round % 3]
            #expect(try await client.command("QUIT") == 221)
            // Reconnect before closing our end: the server has answered QUIT, so the slot must be free.
            var next = try await RawSMTPClient.connect(port: server.port)
            if try await next.readReply()?.code != 220 { refusals += 1 }
            await client.close()
            clients[round % 3] = next
        }
        #expect(refusals == 0)
        for client in clients { await client.close() }
        try await server.stop()
    }
}
