import Foundation
import MailBridge
import NIOCore
import ServiceLifecycle
import Testing

/// Slow clients, deadlines and graceful shutdown against the real listener, with small configured values.
struct TimeoutAndShutdownTests {
    @Test func idleClientGets421AfterCommandTimeout() async throws {
        let server = try await SMTPTestServer(
            configuration: SMTPServerConfiguration(commandTimeout: .milliseconds(300))
        )
        var client = try await RawSMTPClient.connect(port: server.port)
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await client.readReply()
        try await client.send("NOO")  // a partial line never completes a frame (slowloris)
        let replies = try await client.readUntilClosed()
        #expect(replies.map(\.code) == [421])
        #expect(replies.first?.lines.first?.contains("4.4.2") == true)
        #expect(clock.now - start < .seconds(5))
        try await server.stop()
    }

    @Test func trickleInsideALineDoesNotResetTheTimeout() async throws {
        let server = try await SMTPTestServer(
            configuration: SMTPServerConfiguration(commandTimeout: .milliseconds(400))
        )
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        let clock = ContinuousClock()
        let start = clock.now
        let writer = client.channel
        let sender = Task {
            for _ in 0..<40 {
                try? await writer.writeAndFlush(ByteBuffer(string: "x")).get()
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let replies = try await client.readUntilClosed()
        sender.cancel()
        // Closed while the trickle (40 x 50 ms) was still going; the 421 itself may be lost to a TCP reset
        // caused by the trickling writes.
        #expect(clock.now - start < .milliseconds(1800))
        #expect(replies.map(\.code) == [421] || replies.isEmpty)
        try await server.stop()
    }

    @Test func slowDataIsCutOffByMinimumRate() async throws {
        let configuration = SMTPServerConfiguration(
            commandTimeout: .seconds(10),
            minimumDataRate: 100_000,
            dataRateGracePeriod: .milliseconds(200)
        )
        let server = try await SMTPTestServer(configuration: configuration)
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        #expect(try await client.command("EHLO c") == 250)
        #expect(try await client.command("MAIL FROM:<>") == 250)
        #expect(try await client.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try await client.command("DATA") == 354)
        let writer = client.channel
        let sender = Task {
            for _ in 0..<100 {
                try? await writer.writeAndFlush(ByteBuffer(string: "slow line\r\n")).get()
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let replies = try await client.readUntilClosed()
        sender.cancel()
        #expect(replies.map(\.code) == [421])
        #expect(replies.first?.lines.first?.contains("4.4.2") == true)
        #expect(try server.pendingMessages().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: server.spool.temporaryFolder.path).isEmpty)
        try await server.stop()
    }

    @Test func activeClientStillHitsTheSessionDeadline() async throws {
        let configuration = SMTPServerConfiguration(commandTimeout: .seconds(10), sessionDeadline: .milliseconds(500))
        let server = try await SMTPTestServer(configuration: configuration)
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        var codes: [Int] = []
        for _ in 0..<100 {
            // The 421 may arrive while a NOOP is on its way; then the write fails and the reply is read below.
            guard let code = try? await client.command("NOOP") else { break }
            codes.append(code)
            if code != 250 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        if codes.last != 421 { codes += ((try? await client.readUntilClosed()) ?? []).map(\.code) }
        #expect(codes.last == 421)
        #expect(codes.count < 100)
        try await server.stop()
    }

    @Test func gracefulShutdownAnswersIdleSessionsAndFinishesData() async throws {
        let server = try await SMTPTestServer()
        var idle = try await RawSMTPClient.connect(port: server.port)
        var sending = try await RawSMTPClient.connect(port: server.port)
        _ = try await idle.readReply()
        _ = try await sending.readReply()
        #expect(try await idle.command("EHLO idle") == 250)
        #expect(try await sending.command("EHLO busy") == 250)
        #expect(try await sending.command("MAIL FROM:<client@example.net>") == 250)
        #expect(try await sending.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try await sending.command("DATA") == 354)
        try await sending.send("Subject: in flight\r\n\r\nfirst half\r\n")

        let stopping = Task { await server.group.triggerGracefulShutdown() }
        let idleReplies = try await idle.readUntilClosed()
        #expect(idleReplies.map(\.code) == [421])
        #expect(idleReplies.first?.lines.first?.contains("4.3.2") == true)

        // New connections are no longer accepted.
        try await Task.sleep(for: .milliseconds(100))
        let refused = await (try? RawSMTPClient.connect(port: server.port)) == nil
        #expect(refused)

        try await sending.send("second half\r\n.\r\n")
        let final = try await sending.readUntilClosed()
        #expect(final.map(\.code) == [250, 421], "the message in flight is finished, then 421")
        await stopping.value
        try await server.runTask.value
        #expect(try server.pendingMessages().count == 1)
        try await server.stop()
    }
}
