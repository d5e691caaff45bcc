import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// The single inbound funnel, end to end on real parts. Every test plants canaries in content, subject, file names
/// and headers, and checks they appear nowhere they must not: outbound mail, logs, the raw database file.
@Suite struct PipelineTests {
    /// Asserts none of `canaries` is in any queued outbound mail, any log line, or the raw SQLite files.
    private func assertNoLeak(_ harness: PipelineHarness, _ canaries: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let outbox = try await harness.outbox()
        let database = try harness.rawDatabaseBytes()
        for canary in canaries {
            for item in outbox {
                #expect(!item.payload.text.contains(canary), "canary in outbound mail", sourceLocation: sourceLocation)
            }
            for line in harness.logs.all {
                #expect(!line.contains(canary), "canary in a log line: \(line)", sourceLocation: sourceLocation)
            }
            #expect(database.firstRange(of: Array(canary.utf8)) == nil, "canary in the raw database",
                    sourceLocation: sourceLocation)
        }
    }

    private func signedEncryptedMail(_ harness: PipelineHarness, client: KeyFingerprint, address: String,
                                     canary: String, messageID: String) async throws -> String {
        let inner = PipelineHarness.innerEntity(subject: "Betreff \(canary)-subject", body: "Hallo \(canary)-body Grüße",
                                                fileName: "\(canary)-file.pdf")
        let ciphertext = try harness.client.gpg(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                                 "--recipient", harness.gateway.hex], stdin: Array(inner.utf8)).stdout
        let keydata = try harness.client.gpg(["--export", "--export-options", "export-minimal", client.hex]).stdout
        return try harness.pgpMIMEMail(from: address, ciphertext: ciphertext, messageID: messageID, extraHeaders: [
            "Autocrypt": " addr=\(address); prefer-encrypt=mutual; keydata=\(Data(keydata).base64EncodedString())",
        ])
    }

    @Test func pgpMIMEFromPythonAndGPGBecomesAThreadWithAContentFreeNotice() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let address = "klient@example.net"
        let client = try harness.client.makeKey(address)
        let raw = try await signedEncryptedMail(harness, client: client, address: address, canary: canary,
                                                messageID: "<m1@example.net>")
        let outcome = try await harness.pipeline.accept(try harness.spool(raw, from: address))
        guard case .imported(let thread, createdThread: true) = outcome else {
            Issue.record("expected a new thread, got \(outcome)")
            return
        }
        let opened = try await harness.store.read { try $0.openThread(thread) }
        #expect(opened.messages.count == 1)
        let stored = try #require(opened.messages.first)
        #expect(stored.body.text.contains("\(canary)-body Grüße"))
        #expect(stored.subject == "Betreff \(canary)-subject")  // the protected header, not the outer "..."
        #expect(stored.signer?.subjectSigned == true)
        #expect(stored.attachments.map(\.name) == ["\(canary)-file.pdf"])
        #expect(stored.verdict == .valid)
        #expect(opened.clientKey?.unredactedDescription == client.hex)

        // Exactly one outbound mail: the notice to the team, fixed text + field + opaque thread reference.
        let outbox = try await harness.outbox()
        #expect(outbox.count == 1)
        let notice = try #require(outbox.first)
        #expect(notice.kind == .notification)
        #expect(notice.recipient.unredactedDescription == PipelineHarness.team)
        #expect(notice.payload.text.contains(thread.unredactedDescription))
        #expect(!notice.payload.text.contains(address))
        try await assertNoLeak(harness, [canary, address])
        await harness.close()
    }

    @Test func sameMessageTwiceIsOneEntryAndReplayedCiphertextIsRefused() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let address = "klient@example.net"
        let client = try harness.client.makeKey(address)
        let raw = try await signedEncryptedMail(harness, client: client, address: address, canary: canary,
                                                messageID: "<same@example.net>")
        guard case .imported(let thread, _) = try await harness.pipeline.accept(try harness.spool(raw, from: address))
        else { Issue.record("first delivery not imported"); return }
        #expect(try await harness.pipeline.accept(try harness.spool(raw, from: address)) == .duplicate(thread))
        // The same ciphertext under a new Message-ID: a replay, not a new message.
        let replay = raw.replacingOccurrences(of: "<same@example.net>", with: "<other@example.net>")
        #expect(try await harness.pipeline.accept(try harness.spool(replay, from: address))
                == .rejectedEncrypted(.replayedCiphertext))
        let opened = try await harness.store.read { try $0.openThread(thread) }
        #expect(opened.messages.count == 1)
        #expect(try await harness.outbox().count == 1)  // one notice only
        try await assertNoLeak(harness, [canary])
        await harness.close()
    }

    /// A reply names our outbound message in In-Reply-To: it joins that thread, even when the client has a newer
    /// thread; without the header it would go to the newest one.
    @Test func replyJoinsTheThreadOfTheMessageItAnswers() async throws {
        let harness = try await PipelineHarness()
        let address = "klient@example.net"
        let client = try harness.client.makeKey(address)
        func mail(_ id: String, inReplyTo: String? = nil) async throws -> String {
            // Each mail says something new: the same signed content twice would be a replay.
            let raw = try await signedEncryptedMail(harness, client: client, address: address, canary: "x\(id)",
                                                    messageID: id)
            guard let inReplyTo else { return raw }
            return raw.replacingOccurrences(of: "Message-ID: \(id)", with: "Message-ID: \(id)\r\nIn-Reply-To: \(inReplyTo)")
        }
        guard case .imported(let first, createdThread: true) = try await harness.pipeline.accept(
            try harness.spool(try await mail("<a@example.net>"), from: address))
        else { Issue.record("first mail not imported"); return }
        // A counsellor answered in the first thread, then closed it.
        _ = try await harness.store.write { tx in
            try tx.importMessage(NewMessage(direction: .outbound, messageID: "<answer@example.org>", subject: "Re",
                                            body: Array("Antwort".utf8), verdict: .notApplicable, receivedAt: Date()), into: .thread(first))
            try tx.setState(.closed, of: first)
        }
        // A new mail without reply headers starts a second thread (the first is closed) ...
        guard case .imported(let second, createdThread: true) = try await harness.pipeline.accept(
            try harness.spool(try await mail("<b@example.net>"), from: address))
        else { Issue.record("second mail did not start a thread"); return }
        #expect(second != first)
        // ... but a reply to the counsellor's answer goes back to the first thread.
        let reply = try await mail("<c@example.net>", inReplyTo: "<answer@example.org>")
        #expect(reply.contains("In-Reply-To: <answer@example.org>"))
        #expect(try await harness.pipeline.accept(try harness.spool(reply, from: address))
                == .imported(first, createdThread: false))
        await harness.close()
    }

    /// The same sender (address case aside) stays in its thread. A mail from another address, signed by a key
    /// that does not claim that address, goes to its signer's thread (the words are the signer's; replies must
    /// not go to whoever wrote the From line) and is marked as not from its From address.
    @Test func aSignedMailFromAnotherAddressGoesToItsSignersThread() async throws {
        let harness = try await PipelineHarness()
        let client = try harness.client.makeKey("klient@example.net")
        func send(_ from: String, _ id: String) async throws -> AcceptOutcome {
            let raw = try await signedEncryptedMail(harness, client: client, address: from, canary: "x\(id)",
                                                    messageID: id)
            return try await harness.pipeline.accept(try harness.spool(raw, from: from))
        }
        guard case .imported(let first, createdThread: true) = try await send("klient@example.net", "<s1@example.net>")
        else { Issue.record("first mail not imported"); return }
        #expect(try await send("Klient@Example.NET", "<s2@example.net>") == .imported(first, createdThread: false))
        #expect(try await send("zweit@example.net", "<s3@example.net>") == .imported(first, createdThread: false))
        let verdicts = try await harness.store.read { try $0.openThread(first) }.messages.map(\.verdict)
        #expect(verdicts == [.valid, .valid, .signerAddressMismatch])
        await harness.close()
    }

    /// A client without protected headers (the Subject only in the outer, unsigned header): the words are valid,
    /// the subject is stored as not signed, so the inbox can mark it (a relay may have changed it).
    @Test func anOuterSubjectIsStoredAsNotSigned() async throws {
        let harness = try await PipelineHarness()
        let address = "aussen@example.net"
        let client = try harness.client.makeKey(address)
        let inner = "Content-Type: text/plain; charset=utf-8\r\n\r\nHallo, ohne geschützte Kopfzeilen.\r\n"
        let ciphertext = try harness.client.gpg(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                                 "--recipient", harness.gateway.hex], stdin: Array(inner.utf8)).stdout
        _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", client.hex]).stdout)
        var raw = try harness.pgpMIMEMail(from: address, ciphertext: ciphertext, messageID: "<outer@example.net>")
        raw = raw.replacingOccurrences(of: "Subject: ...", with: "Subject: Geändert unterwegs")
        guard case .imported(let thread, _) = try await harness.pipeline.accept(try harness.spool(raw, from: address))
        else { Issue.record("not imported"); return }
        let stored = try #require(try await harness.store.read { try $0.openThread(thread) }.messages.first)
        #expect(stored.verdict == .valid)
        #expect(stored.subject == "Geändert unterwegs")
        #expect(stored.signer?.subjectSigned == false)
        await harness.close()
    }

    @Test func inlinePGPIsImported() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let address = "inline@example.net"
        let client = try harness.client.makeKey(address)
        let armored = try harness.client.gpg(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                              "--recipient", harness.gateway.hex], stdin: Array("Hallo \(canary)".utf8)).stdout
        _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", client.hex]).stdout)
        let raw = "From: \(address)\nTo: \(PipelineHarness.counselling)\nSubject: hi\nMessage-ID: <i1@example.net>\n"
            + "Content-Type: text/plain; charset=us-ascii\n\n\(armored.text)"
        guard case .imported(let thread, _) = try await harness.pipeline.accept(try harness.spool(raw, from: address))
        else { Issue.record("inline PGP not imported"); return }
        let opened = try await harness.store.read { try $0.openThread(thread) }
        #expect(opened.messages.first?.body.text == "Hallo \(canary)")
        #expect(opened.messages.first?.verdict == .valid)
        // Inline PGP has no inner headers: the Subject is the outer one, which the signature does not cover.
        #expect(opened.messages.first?.subject == "hi")
        #expect(opened.messages.first?.signer?.subjectSigned == false)
        try await assertNoLeak(harness, [canary])
        await harness.close()
    }

    @Test func plainMailGetsOneFixedRedirectAndNothingIsStored() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let sender = "plain@example.net"
        let raw = "From: Klient \(canary)-name <\(sender)>\nTo: \(PipelineHarness.counselling)\n"
            + "Subject: Hilfe \(canary)-subject\nMessage-ID: <p1@example.net>\n\nMein Problem: \(canary)-body\n"
        #expect(try await harness.pipeline.accept(try harness.spool(raw, from: sender)) == .redirected)
        let outbox = try await harness.outbox()
        #expect(outbox.count == 1)
        let reply = try #require(outbox.first)
        #expect(reply.kind == .redirectReply)
        #expect(reply.recipient.unredactedDescription == sender)
        let text = reply.payload.text
        #expect(text.contains("Auto-Submitted: auto-replied"))
        #expect(text.contains("https://beratung.example/login"))
        #expect(!text.contains("In-Reply-To") && !text.contains("p1@example.net"))
        // The redirect carries the gateway key (Autocrypt), and gpg reads it as exactly that key.
        let field = try #require(try MIMEParser().parse(reply.payload).headers.first("Autocrypt"))
        let autocrypt = try #require(AutocryptHeader(parsing: field.value))
        #expect(autocrypt.address.canonical == PipelineHarness.counselling)
        let shown = try harness.client.gpg(["--with-colons", "--import-options", "show-only", "--import"],
                                           stdin: autocrypt.keyData).stdout.text
        #expect(shown.contains(harness.gateway.hex))
        #expect(!text.lowercased().contains("subject: re:"))
        // Second plain mail from the same sender within the period: no second redirect.
        let again = try await harness.pipeline.accept(try harness.spool(raw, from: sender))
        #expect(again == .redirectSuppressed("rate-limited"))
        #expect(try await harness.outbox().count == 1)
        #expect(try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }.isEmpty)
        try await assertNoLeak(harness, [canary])
        await harness.close()
    }

    @Test(arguments: [
        ("Auto-Submitted: auto-replied\n", "plain@example.net"),
        ("Precedence: bulk\n", "plain@example.net"),
        ("List-Id: <list.example.net>\n", "plain@example.net"),
        ("", "MAILER-DAEMON@example.net"),
    ])
    func rfc3834SuppressesRedirects(_ header: String, _ sender: String) async throws {
        let harness = try await PipelineHarness()
        let raw = "From: \(sender)\nTo: \(PipelineHarness.counselling)\n\(header)Subject: x\n\nbody\n"
        guard case .redirectSuppressed = try await harness.pipeline.accept(try harness.spool(raw, from: sender)) else {
            Issue.record("redirect not suppressed")
            return
        }
        #expect(try await harness.outbox().isEmpty)
        await harness.close()
    }

    @Test func nullSenderGetsNoReply() async throws {
        let harness = try await PipelineHarness()
        let raw = "From: someone@example.net\nTo: \(PipelineHarness.counselling)\nSubject: x\n\nbody\n"
        guard case .redirectSuppressed = try await harness.pipeline.accept(try harness.spool(raw, from: nil)) else {
            Issue.record("reply to the null sender")
            return
        }
        #expect(try await harness.outbox().isEmpty)
        await harness.close()
    }

    @Test func bounceIsRecordedNeverAnswered() async throws {
        let harness = try await PipelineHarness()
        let raw = """
            From: MAILER-DAEMON@example.net
            To: \(PipelineHarness.counselling)
            Subject: Undelivered Mail Returned to Sender
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="r"

            --r
            Content-Type: text/plain

            Delivery failed.
            --r
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.example.net

            Final-Recipient: rfc822; plain@example.net
            Action: failed
            Status: 5.1.1
            --r--

            """
        #expect(try await harness.pipeline.accept(try harness.spool(raw, from: nil)) == .deliveryReport)
        #expect(try await harness.outbox().isEmpty)
        await harness.close()
    }

    /// Failures of encrypted mail send nothing at all to the sender, and store nothing.
    @Test func undecryptableMailSendsNothing() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let address = "wrong@example.net"
        let other = try harness.client.makeKey(address)
        let forOtherKey = try harness.client.gpg(["--armor", "--encrypt", "--recipient", other.hex],
                                                 stdin: Array(canary.utf8)).stdout
        let noMDC = try harness.client.gpg(["--rfc2440", "--cipher-algo", "AES", "--armor", "--encrypt",
                                            "--recipient", harness.gateway.hex], stdin: Array(canary.utf8)).stdout
        for (ciphertext, reason) in [(forOtherKey, AcceptOutcome.RejectionReason.notForUs),
                                     (noMDC, .integrityProtectionMissing)] {
            let raw = try harness.pgpMIMEMail(from: address, ciphertext: ciphertext, messageID: "<\(UUID())@example.net>")
            #expect(try await harness.pipeline.accept(try harness.spool(raw, from: address)) == .rejectedEncrypted(reason))
        }
        #expect(try await harness.outbox().isEmpty)
        #expect(try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }.isEmpty)
        try await assertNoLeak(harness, [canary])
        await harness.close()
    }

    /// Armor with text around it, or an encrypted part nested in multipart/mixed, is never decrypted into a
    /// thread: it is handled as plain mail (redirect only, content dropped).
    @Test func partlyEncryptedMailIsTreatedAsPlain() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let sender = "mixed@example.net"
        let armored = try harness.client.gpg(["--armor", "--encrypt", "--recipient", harness.gateway.hex],
                                             stdin: Array("secret \(canary)".utf8)).stdout.text
        let raw = "From: \(sender)\nTo: \(PipelineHarness.counselling)\nSubject: \(canary)\n\n"
            + "Unencrypted preface \(canary)\n\(armored)\n"
        #expect(try await harness.pipeline.accept(try harness.spool(raw, from: sender)) == .redirected)
        #expect(try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }.isEmpty)
        try await assertNoLeak(harness, [canary])
        await harness.close()
    }
}
