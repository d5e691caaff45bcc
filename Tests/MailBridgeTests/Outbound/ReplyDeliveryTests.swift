import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// A queued counsellor reply travels through the real queue and SMTP client to a local aiosmtpd sink: the
/// envelope sender is the mailbox, notices keep `MAIL FROM:<>`, and the client decrypts what arrived.
@Suite struct ReplyDeliveryTests {
    @Test func replyIsDeliveredFromTheMailboxAndDecryptsAtTheClient() async throws {
        let harness = try await PipelineHarness()
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let address = "zustellung@example.net"
        let client = try harness.client.makeKey(address)
        let ciphertext = try harness.client.gpg(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                                 "--recipient", harness.gateway.hex],
                                                stdin: Array("Content-Type: text/plain\r\n\r\nHallo".utf8)).stdout
        _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", client.hex]).stdout)
        let raw = try harness.pgpMIMEMail(from: address, ciphertext: ciphertext, messageID: "<d1@example.net>")
        guard case .imported(let thread, _) = try await harness.pipeline.accept(try harness.spool(raw, from: address))
        else { Issue.record("not imported"); return }
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let composer = ReplyComposer(store: harness.store, pgp: harness.pgp, mailboxes: [harness.mailbox],
                                     logger: harness.logs.logger("reply"))
        guard case .queued = try await composer.queueReply(thread: thread, text: "Antwort \(canary)", counsellor: nil)
        else { Issue.record("reply not queued encrypted"); return }

        let kinds = try await harness.outbox().map(\.kind)
        #expect(kinds.count == 2, "\(kinds)")
        let queue = OutboundQueue(
            store: ThreadStoreOutbox(store: harness.store, mailboxes: [harness.mailbox]),
            deliverer: SMTPClientSinkTests.client(port: sink.port), policy: RetryPolicy(),
            logger: harness.logs.logger("queue"))
        let task = Task { try await queue.run() }
        // Done when both arrived and both rows are recorded as delivered (removed from the store).
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if sink.messages().count >= 2, try await harness.outbox().isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        _ = try? await task.value

        let messages = sink.messages().map { String(decoding: $0, as: UTF8.self) }
        #expect(messages.count == 2, "\(messages.map { $0.prefix(300) })")
        let senders = sink.events("mail").compactMap { $0["sender"] as? String }.sorted()
        #expect(senders == ["<>", PipelineHarness.counselling])  // aiosmtpd reports the path without brackets
        let reply = try #require(messages.first { $0.contains("multipart/encrypted") })
        let start = try #require(reply.range(of: "-----BEGIN PGP MESSAGE-----"))
        let end = try #require(reply.range(of: "-----END PGP MESSAGE-----"))
        let decrypted = try harness.client.gpg(["--decrypt"], stdin: Array(String(reply[start.lowerBound..<end.upperBound]).utf8))
        #expect(decrypted.stdout.text.contains("Antwort \(canary)"))
        for message in messages { #expect(!message.contains(canary)) }
        for line in harness.logs.all { #expect(!line.contains(canary) && !line.contains(address), "\(line)") }
        #expect(try await harness.outbox().isEmpty, "both rows delivered and removed")
        await harness.close()
    }
}
