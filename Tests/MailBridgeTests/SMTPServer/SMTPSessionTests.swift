import Foundation
import MailBridge
import MailValues
import Testing

/// The session loop on an `NIOAsyncTestingChannel` (``SMTPSessionHarness``): the listener's pipeline, a real
/// spool and intake, no sockets. Complements the socket tests in EndToEnd/SMTPListenerTests.
struct SMTPSessionTests {
    static let message = "Subject: test\r\n\r\nHello\r\n..dot-stuffed line\r\n"

    /// EHLO, MAIL and RCPT for the counselling address, then DATA; the spool file exists before the 354.
    static func openData(_ harness: SMTPSessionHarness) async throws {
        #expect(try await harness.command("EHLO client.test") == 250)
        #expect(try await harness.command("MAIL FROM:<client@example.net>") == 250)
        #expect(try await harness.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try harness.temporaryFiles().isEmpty)
        #expect(try await harness.command("DATA") == 354)
        #expect(try harness.temporaryFiles().count == 1)
    }

    @Test func fullDialogue() async throws {
        let harness = try await SMTPSessionHarness()
        let greeting = try #require(try await harness.readReply())
        #expect(greeting.code == 220 && greeting.lines == ["220 mx.test ESMTP MailBridge"])
        try await harness.send("EHLO client.test\r\n")
        let ehlo = try #require(try await harness.readReply())
        #expect(ehlo.lines == [
            "250-mx.test", "250-SIZE 26214400", "250-8BITMIME", "250-PIPELINING", "250-ENHANCEDSTATUSCODES",
            "250 SMTPUTF8",
        ])
        #expect(try await harness.command("MAIL FROM:<client@example.net> BODY=8BITMIME") == 250)
        #expect(try await harness.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try await harness.command("DATA") == 354)
        #expect(harness.accepted.isEmpty)
        try await harness.send(Self.message)
        try await harness.send(".\r\n")
        let queued = try #require(try await harness.readReply())
        #expect(queued.code == 250)

        let message = try #require(harness.accepted.first)
        #expect(harness.accepted.count == 1)
        #expect(queued.lines == ["250 2.0.0 queued as \(message.queueID.rawValue)"])
        #expect(message.envelope.recipients == [SMTPTestServer.counselling])
        #expect(message.envelope.reversePath.address?.unredactedDescription == "client@example.net")
        #expect(message.envelope.clientAddress?.unredactedDescription == "192.0.2.7")
        #expect(message.envelope.eightBitMIME && !message.envelope.smtpUTF8)
        let pending = try harness.spool.pending()
        #expect(pending.map(\.queueID) == [message.queueID])
        let stored = try String(contentsOf: try #require(pending.first).spoolFile, encoding: .utf8)
        #expect(stored == "Subject: test\r\n\r\nHello\r\n.dot-stuffed line\r\n")
        #expect(try harness.temporaryFiles().isEmpty)

        #expect(try await harness.command("QUIT") == 221)
        #expect(try await harness.readReply() == nil, "the session closes after 221")
        await harness.finish()
    }

    /// RFC 2920: a pipelined group gets its replies in order; DATA ends the group.
    @Test func pipelinedCommandsGetRepliesInOrder() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        try await harness.send(
            "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<team@example.org>\r\nDATA\r\n"
        )
        #expect(try await harness.codes(5) == [250, 250, 550, 250, 354])
        try await harness.send("x\r\n.\r\nQUIT\r\n")
        #expect(try await harness.readUntilClosed().map(\.code) == [250, 221])
        #expect(harness.accepted.map(\.envelope.recipients) == [[try EmailAddress("team@example.org")]])
        await harness.finish()
    }

    /// Postfix's reject_unauth_pipelining: text sent with DATA, before the 354, closes the session unread.
    @Test func textPipelinedWithDataIsRefused() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        #expect(try await harness.command("EHLO c") == 250)
        #expect(try await harness.command("MAIL FROM:<>") == 250)
        #expect(try await harness.command("RCPT TO:<beratung@example.org>") == 250)
        try await harness.send("DATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
        #expect(try await harness.readUntilClosed().map(\.code) == [503])
        #expect(harness.accepted.isEmpty)
        #expect(try harness.temporaryFiles().isEmpty)
        await harness.finish()
    }

    /// Only <CRLF>.<CRLF> ends the data: after a fake terminator the session is still in the message, so the
    /// "commands" behind it are message text, the message is refused at the real end, and nothing is stored.
    @Test(arguments: ["\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n"])
    func bareLineFeedInDataIsNotAnEnd(fakeTerminator: String) async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        try await Self.openData(harness)
        try await harness.send("Subject: x\r\n\r\nfirst" + fakeTerminator)
        try await harness.send("MAIL FROM:<attacker@example.net>\r\nRCPT TO:<team@example.org>\r\nDATA\r\n")
        try await harness.send("QUIT\r\n")
        try await harness.send(".\r\n")
        let reply = try #require(try await harness.readReply())
        #expect(reply.code == 554, "the first reply after 354 is the refusal at the real end: \(reply)")
        #expect(reply.lines.first?.contains("bare CR or LF") == true)
        #expect(harness.accepted.isEmpty)
        #expect(try harness.temporaryFiles().isEmpty, "the refused message's spool file is discarded")
        #expect(try await harness.command("NOOP") == 250, "the smuggled QUIT was not a command")
        await harness.finish()
    }

    /// An overlong command line is answered once and skipped to its end; the next command is read in step, also
    /// when both come in one read.
    @Test func overlongCommandLineIsSkippedToItsEnd() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        try await harness.send("NOOP " + String(repeating: "a", count: 5000) + "\r\nNOOP\r\n")
        let replies = [try await harness.readReply(), try await harness.readReply()]
        #expect(replies.map { $0?.code } == [500, 250])
        #expect(replies.first??.lines.first?.contains("line too long") == true)
        #expect(try await harness.command("EHLO c") == 250)
        await harness.finish()
    }

    /// An overlong text line in DATA is not a command either: the message is refused at its real end.
    @Test func overlongDataLineRefusesTheMessage() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        try await Self.openData(harness)
        try await harness.send("Subject: x\r\n\r\n" + String(repeating: "b", count: 3000) + "\r\n.\r\n")
        let reply = try #require(try await harness.readReply())
        #expect(reply.code == 554 && reply.lines.first?.contains("text line too long") == true)
        #expect(harness.accepted.isEmpty)
        #expect(try harness.temporaryFiles().isEmpty)
        await harness.finish()
    }

    /// DATA after the only RCPT was refused is a sequence error; the text that follows is read as (bad)
    /// commands, never as a message, and no spool file is made.
    @Test func dataAfterRejectedRecipient() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        #expect(try await harness.command("EHLO c") == 250)
        #expect(try await harness.command("MAIL FROM:<client@example.net>") == 250)
        #expect(try await harness.command("RCPT TO:<someone@elsewhere.example>") == 550)
        #expect(try await harness.command("DATA") == 503)
        #expect(try harness.temporaryFiles().isEmpty)
        try await harness.send("Subject: x\r\n.\r\n")
        #expect(try await harness.codes(2) == [500, 500])
        #expect(try await harness.command("RCPT TO:<beratung@example.org>") == 250, "the transaction is still open")
        #expect(try await harness.command("QUIT") == 221)
        #expect(harness.accepted.isEmpty)
        await harness.finish()
    }

    /// 250 only after the intake: a failing intake gets 451, the spool file is deleted, the session goes on.
    @Test func failedIntakeAnswers451AndDiscardsTheSpoolFile() async throws {
        let harness = try await SMTPSessionHarness(intakeFails: true)
        _ = try await harness.readReply()
        try await Self.openData(harness)
        try await harness.send(Self.message + ".\r\n")
        let reply = try #require(try await harness.readReply())
        #expect(reply.code == 451 && reply.lines.first?.contains("4.3.0") == true)
        #expect(try harness.temporaryFiles().isEmpty)
        #expect(try harness.spool.pending().isEmpty)
        #expect(try await harness.command("NOOP") == 250)
        await harness.finish()
    }

    /// A message over the size limit is read to its end, refused with 552, and its partial spool file deleted.
    @Test func oversizeMessageIsDiscarded() async throws {
        let harness = try await SMTPSessionHarness(
            configuration: SMTPServerConfiguration(hostname: "mx.test", maximumMessageSize: 100)
        )
        _ = try await harness.readReply()
        try await Self.openData(harness)
        try await harness.send("Subject: x\r\n\r\n" + String(repeating: "line of text\r\n", count: 20))
        try await harness.send(".\r\n")
        #expect(try await harness.readReply()?.code == 552)
        #expect(try harness.temporaryFiles().isEmpty)
        #expect(harness.accepted.isEmpty)
        #expect(try await harness.command("QUIT") == 221)
        await harness.finish()
    }

    /// The client going away in the middle of DATA leaves no spool file behind.
    @Test func connectionLostDuringDataLeavesNothing() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        try await Self.openData(harness)
        try await harness.send("Subject: x\r\n\r\nhalf a message\r\n")
        await harness.clientCloses()
        #expect(try harness.temporaryFiles().isEmpty)
        #expect(harness.accepted.isEmpty)
        await harness.finish()
    }

    // MARK: - Time, on the testing event loop's clock

    /// RFC 5321 §4.5.3.2: a client silent for the command timeout gets 421 4.4.2 and is closed.
    @Test func silentClientTimesOut() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        await harness.advanceTime(by: .seconds(290))
        #expect(try await harness.command("EHLO c") == 250, "not yet")
        await harness.advanceTime(by: .seconds(301))
        let replies = try await harness.readUntilClosed()
        #expect(replies.map(\.code) == [421])
        #expect(replies.first?.lines.first?.contains("4.4.2") == true)
        await harness.finish()
    }

    /// Slowloris: after the grace period the data must arrive at the minimum rate; the partial message is deleted.
    @Test func slowDataIsCutOffAndDiscarded() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        try await Self.openData(harness)
        try await harness.send("Subject: x\r\n\r\n")
        await harness.advanceTime(by: .seconds(20))
        try await harness.send("a trickle\r\n")
        await harness.advanceTime(by: .seconds(11))
        try await harness.send("another trickle\r\n")
        let replies = try await harness.readUntilClosed()
        #expect(replies.map(\.code) == [421])
        #expect(replies.first?.lines.first?.contains("4.4.2") == true)
        #expect(try harness.temporaryFiles().isEmpty)
        #expect(harness.accepted.isEmpty)
        await harness.finish()
    }

    /// Stress mode: NOOPs are not progress; only under stress is an idle client closed after the stress timeout.
    @Test func idleClientIsClosedOnlyUnderStress() async throws {
        let harness = try await SMTPSessionHarness()
        _ = try await harness.readReply()
        #expect(try await harness.command("EHLO c") == 250)
        await harness.advanceTime(by: .seconds(11))
        #expect(try await harness.command("NOOP") == 250, "no stress: the command timeout applies")
        harness.setUnderStress(true)
        await harness.advanceTime(by: .seconds(3))
        let replies = try await harness.readUntilClosed()
        #expect(replies.map(\.code) == [421])
        #expect(replies.first?.lines.first?.contains("4.7.0") == true)
        await harness.finish()
    }

    /// The whole-session deadline ends even a busy session.
    @Test func sessionDeadlineEndsTheSession() async throws {
        let harness = try await SMTPSessionHarness(
            configuration: SMTPServerConfiguration(
                hostname: "mx.test",
                commandTimeout: .seconds(3600),
                sessionDeadline: .seconds(60)
            )
        )
        _ = try await harness.readReply()
        #expect(try await harness.command("EHLO c") == 250)
        await harness.advanceTime(by: .seconds(61))
        #expect(try await harness.readUntilClosed().map(\.code) == [421])
        await harness.finish()
    }

    /// Graceful shutdown: an idle session gets 421 4.3.2 at once; a message being sent is finished first.
    @Test func shutdownFinishesTheMessageFirst() async throws {
        let idle = try await SMTPSessionHarness()
        _ = try await idle.readReply()
        try await idle.requestShutdown()
        let closing = try await idle.readUntilClosed()
        #expect(closing.map(\.code) == [421] && closing.first?.lines.first?.contains("4.3.2") == true)
        await idle.finish()

        let busy = try await SMTPSessionHarness()
        _ = try await busy.readReply()
        try await Self.openData(busy)
        try await busy.send("Subject: x\r\n\r\n")
        try await busy.requestShutdown()
        try await busy.send("the rest\r\n.\r\n")
        #expect(try await busy.readUntilClosed().map(\.code) == [250, 421])
        #expect(busy.accepted.count == 1)
        await busy.finish()
    }

    // MARK: - STARTTLS

    /// RFC 3207 §5: a command pipelined after STARTTLS would be read as if it came over TLS; the session refuses
    /// and closes before adding the TLS handler.
    @Test func commandPipelinedAfterStartTLSIsRefused() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let harness = try await SMTPSessionHarness(tls: certificate.tls)
        _ = try await harness.readReply()
        try await harness.send("EHLO c\r\n")
        let ehlo = try #require(try await harness.readReply())
        #expect(ehlo.lines.last == "250 STARTTLS")
        try await harness.send("STARTTLS\r\nMAIL FROM:<injected@example.net>\r\n")
        let replies = try await harness.readUntilClosed()
        #expect(replies.map(\.code) == [554])
        #expect(try await harness.hasTLSHandler() == false)
        await harness.finish()
    }

    /// After the 220 the TLS handler is in place, and plaintext is never read as a command.
    @Test func plaintextAfterStartTLSGoesToTheTLSHandler() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        let harness = try await SMTPSessionHarness(tls: certificate.tls)
        _ = try await harness.readReply()
        #expect(try await harness.command("EHLO c") == 250)
        #expect(try await harness.command("STARTTLS") == 220)
        #expect(try await harness.hasTLSHandler())
        try? await harness.send("MAIL FROM:<injected@example.net>\r\n")  // not a TLS record: the handshake fails
        let replies = try await harness.readUntilClosed()
        #expect(!replies.contains { $0.code == 250 }, "the plaintext was not taken as a command: \(replies)")
        await harness.finish()
    }
}
