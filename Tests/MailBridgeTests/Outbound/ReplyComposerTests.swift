import Foundation
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Counsellor replies end to end: a real pipeline imports a client's signed, encrypted mail; the reply is
/// queued through `ReplyComposer` and read back by gpg, sqop and rnp as the client would.
@Suite struct ReplyComposerTests {
    struct NotImported: Error {}
    static let clientAddress = "klient@example.net"

    /// Imports one signed, encrypted client mail and returns the thread and the client key.
    private func clientThread(_ harness: PipelineHarness, canary: String,
                              expiry: String = "never") async throws -> (ThreadID, KeyFingerprint) {
        let client = try harness.client.makeKey(Self.clientAddress, expiry: expiry)
        let inner = PipelineHarness.innerEntity(subject: "Frage \(canary)-in", body: "Hallo \(canary)-in",
                                                fileName: "brief.pdf")
        let ciphertext = try harness.client.gpg(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                                 "--recipient", harness.gateway.hex], stdin: Array(inner.utf8)).stdout
        let keydata = try harness.client.gpg(["--export", "--export-options", "export-minimal", client.hex]).stdout
        let raw = try harness.pgpMIMEMail(from: Self.clientAddress, ciphertext: ciphertext,
                                          messageID: "<first@example.net>", extraHeaders: [
            "Autocrypt": " addr=\(Self.clientAddress); keydata=\(Data(keydata).base64EncodedString())",
        ])
        guard case .imported(let thread, _) = try await harness.pipeline.accept(try harness.spool(raw, from: Self.clientAddress))
        else { throw NotImported() }
        return (thread, client)
    }

    private func composer(_ harness: PipelineHarness) -> ReplyComposer {
        ReplyComposer(store: harness.store, pgp: harness.pgp, mailboxes: [harness.mailbox],
                      logger: harness.logs.logger("reply"))
    }

    /// The armored OpenPGP block of a PGP/MIME mail.
    private func armoredBlock(_ mail: String) throws -> [UInt8] {
        let start = try #require(mail.range(of: "-----BEGIN PGP MESSAGE-----"))
        let end = try #require(mail.range(of: "-----END PGP MESSAGE-----"))
        return Array(String(mail[start.lowerBound..<end.upperBound]).replacingOccurrences(of: "\r\n", with: "\n").utf8)
    }

    /// No canary in any plain (non-PGP/MIME) queued mail, any log line, or the raw database files.
    private func assertNoLeak(_ harness: PipelineHarness, _ canary: String) async throws {
        for item in try await harness.outbox() {
            let text = item.payload.text
            #expect(!text.contains(canary), "canary in queued mail of kind \(item.kind)")
        }
        for line in harness.logs.all { #expect(!line.contains(canary), "canary in a log line: \(line)") }
        #expect(try harness.rawDatabaseBytes().firstRange(of: Array(canary.utf8)) == nil, "canary in the raw database")
    }

    @Test func replyDecryptsAndVerifiesWithGPGSqopAndRNP() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let (thread, client) = try await clientThread(harness, canary: canary)
        let outcome = try await composer(harness).queueReply(thread: thread, text: "Liebe Klientin, \(canary)-reply",
                                                             counsellor: "Frau B.")
        guard case .queued = outcome else { Issue.record("expected an encrypted reply, got \(outcome)"); return }

        let replies = try await harness.outbox().filter { $0.kind == .counsellorReply }
        #expect(replies.count == 1)
        let reply = try #require(replies.first)
        #expect(reply.thread == thread)
        #expect(reply.recipient.unredactedDescription == Self.clientAddress)
        let mail = reply.payload.text
        #expect(mail.contains("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\""))
        #expect(mail.contains("Subject: ...\r\n"))
        #expect(mail.contains("From: \(PipelineHarness.counselling)\r\n"))
        #expect(mail.contains("In-Reply-To: <first@example.net>\r\nReferences: <first@example.net>\r\n"))
        #expect(mail.contains("Autocrypt: addr=\(PipelineHarness.counselling);"))
        #expect(!mail.contains(canary))

        // The Autocrypt keydata is the gateway key.
        let autocrypt = try #require(mail.components(separatedBy: "\r\n\r\n").first?
            .components(separatedBy: "Autocrypt: ").last?.components(separatedBy: "\r\nMIME-Version").first)
        let header = try #require(AutocryptHeader(parsing: autocrypt.replacingOccurrences(of: "\r\n", with: "")))
        let imported = try harness.client.gpg(["--with-colons", "--import-options", "show-only", "--import"],
                                              stdin: header.keyData).stdout.text
        #expect(imported.contains(harness.gateway.hex))

        // gpg: decrypts, good signature by the gateway key, protected subject inside.
        let armored = try armoredBlock(mail)
        let gpg = try harness.client.gpg(["--status-fd", "2", "--decrypt"], stdin: armored)
        #expect(gpg.stdout.text.contains("\(canary)-reply"))
        #expect(gpg.stdout.text.contains("protected-headers=\"v1\""))
        #expect(gpg.stdout.text.contains("Subject: Re: Frage \(canary)-in"))
        #expect(gpg.stderr.contains("[GNUPG:] VALIDSIG") && gpg.stderr.contains(harness.gateway.hex))

        // sqop: the client's secret key from gpg, the gateway certificate from the keyring.
        let secret = harness.root.appendingPathComponent("client.key")
        let gatewayCert = harness.root.appendingPathComponent("gateway.cert")
        try Data(try harness.client.gpg(["--export-secret-keys", client.hex]).stdout).write(to: secret)
        try Data(try await harness.pgp.exportPublicKey(harness.gateway)).write(to: gatewayCert)
        let verifications = harness.root.appendingPathComponent("verifications")
        let sqop = try Shell.run("sqop", ["decrypt", "--verify-with=\(gatewayCert.path)",
                                          "--verifications-out=\(verifications.path)", secret.path], stdin: armored)
        #expect(sqop.stdout.text.contains("\(canary)-reply"))
        #expect(try String(contentsOf: verifications, encoding: .utf8).contains(harness.gateway.hex))

        // rnp (Thunderbird's engine).
        let rnpHome = harness.root.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: rnpHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let publics = harness.root.appendingPathComponent("publics.gpg")
        try Data(try harness.client.gpg(["--export"]).stdout).write(to: publics)
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", publics.path])
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", secret.path])
        let rnp = try Shell.run("rnp", ["--homedir", rnpHome.path, "--password", "", "--decrypt"], stdin: armored)
        #expect(rnp.stdout.text.contains("\(canary)-reply"))
        #expect(rnp.stderr.contains("Good signature") || rnp.stderr.contains("Valid signature"),
                "rnp: \(rnp.stderr)")

        // The counsellor side sees the reply in the thread.
        let opened = try await harness.store.read { try $0.openThread(thread) }
        #expect(opened.messages.map(\.direction) == [.inbound, .outbound])
        #expect(opened.summary.state == .awaitingClient)
        #expect(opened.messages.last?.body.text.contains("\(canary)-reply") == true)

        // The queue sends it with the mailbox as reverse path; notices keep the null path.
        let queued = try await ThreadStoreOutbox(store: harness.store, mailboxes: [harness.mailbox])
            .dueItems(now: Date().addingTimeInterval(86400), limit: 10)
        #expect(queued.count == 2)
        for item in queued {
            let isReply = String(decoding: item.message.readableBytesView, as: UTF8.self).contains("multipart/encrypted")
            #expect(item.envelope.reversePath == (isReply ? .mailbox(harness.mailbox.address) : .null))
        }
        try await assertNoLeak(harness, canary)
        await harness.close()
    }

    @Test(arguments: [ReplyOutcome.KeyProblem.missing, .revoked, .expired])
    func unusableKeyQueuesOnlyTheFixedNotice(problem: ReplyOutcome.KeyProblem) async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let made = Date()
        let (thread, client) = try await clientThread(harness, canary: canary,
                                                      expiry: problem == .expired ? "seconds=4" : "never")
        let gatewayHome = harness.root.appendingPathComponent("gw").path
        switch problem {
        case .expired:
            // Key made with a 4 s lifetime (primary and encryption subkey): wait until it has passed.
            let wait = 5.5 - Date().timeIntervalSince(made)
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
        case .missing:
            try Shell.run("gpg", ["--homedir", gatewayHome, "--batch", "--yes", "--delete-keys", client.hex])
        default:
            // gpg wrote a revocation certificate when it made the key; apply it and give the gateway the result.
            let certificate = try String(contentsOf: harness.client.home
                .appendingPathComponent("openpgp-revocs.d/\(client.hex).rev"), encoding: .utf8)
                .replacingOccurrences(of: ":-----BEGIN", with: "-----BEGIN")
            try harness.client.gpg(["--import"], stdin: Array(certificate.utf8))
            _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", client.hex]).stdout)
        }
        let outcome = try await composer(harness).queueReply(thread: thread, text: "Geheim \(canary)-reply",
                                                             counsellor: nil)
        guard case .keyUnusable(let reported, _, _) = outcome else {
            Issue.record("expected keyUnusable, got \(outcome)")
            return
        }
        #expect(reported == problem)
        // The counsellor side can see that state: an audit entry for the thread, without content.
        let audit = try await harness.store.read { try $0.auditEntries() }
        #expect(audit.contains { $0.event == .replyKeyUnusable && $0.thread == thread })
        let items = try await harness.outbox()
        #expect(!items.contains { $0.kind == .counsellorReply })
        let notices = items.filter { $0.thread == thread }
        #expect(notices.count == 1)
        let notice = try #require(notices.first)
        #expect(notice.kind == .notification)
        #expect(notice.recipient.unredactedDescription == Self.clientAddress)
        let text = notice.payload.text
        #expect(text.contains("https://beratung.example/login"))
        #expect(text.contains("Auto-Submitted: auto-generated"))
        #expect(!text.contains("BEGIN PGP") && !text.contains("Geheim"))
        // The counsellor still sees the reply (sealed) in the thread.
        let opened = try await harness.store.read { try $0.openThread(thread) }
        #expect(opened.messages.last?.direction == .outbound)
        #expect(opened.messages.last?.body.text.contains("\(canary)-reply") == true)
        try await assertNoLeak(harness, canary)
        await harness.close()
    }

    @Test func emptyOrHugeTextIsRefused() async throws {
        let harness = try await PipelineHarness()
        let (thread, _) = try await clientThread(harness, canary: "x")
        await #expect(throws: ReplyError(.invalidText)) {
            try await composer(harness).queueReply(thread: thread, text: "", counsellor: nil)
        }
        await #expect(throws: ReplyError(.invalidText)) {
            try await composer(harness).queueReply(
                thread: thread, text: String(repeating: "a", count: ReplyComposer.maximumTextBytes + 1), counsellor: nil)
        }
        await harness.close()
    }

    /// A killed gpg during the reply's encryption (issue 28) is the engine's failure: retried, so the reply is
    /// queued encrypted; when every run dies the counsellor gets an error and nothing is stored, held or sent,
    /// never a held reply and a "reply waiting" notice for a key problem that was not there.
    @Test func aKilledEncryptionIsRetriedNeverAKeyProblem() async throws {
        let engine = try FaultingEngine()
        let harness = try await PipelineHarness(engine: engine.executable)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let (thread, _) = try await clientThread(harness, canary: canary)
        let before = try await harness.outbox().count

        try engine.kill(.encryption, next: 1)
        let outcome = try await composer(harness).queueReply(thread: thread, text: "Antwort \(canary)-eins",
                                                             counsellor: nil)
        guard case .queued = outcome else { Issue.record("expected an encrypted reply, got \(outcome)"); return }
        #expect(engine.runs(.encryption) == 2)
        let reply = try #require(try await harness.outbox().first { $0.kind == .counsellorReply })
        let plain = try harness.client.gpg(["--decrypt"], stdin: try armoredBlock(reply.payload.text)).stdout
        #expect(String(decoding: plain, as: UTF8.self).contains("Antwort \(canary)-eins"))

        try engine.kill(.encryption)
        await #expect(throws: PGPError.self) {
            _ = try await composer(harness).queueReply(thread: thread, text: "Antwort \(canary)-zwei", counsellor: nil)
        }
        #expect(try await harness.outbox().count == before + 1)
        #expect(try await harness.outbox().allSatisfy { $0.kind != .notification || $0.thread != thread })
        #expect(try await harness.store.read { try $0.heldReplyIDs(in: thread) }.isEmpty)
        let messages = try await harness.store.read { try $0.openThread(thread) }.messages
        #expect(messages.filter { $0.direction == .outbound }.count == 1)
        try await assertNoLeak(harness, canary)
        await harness.close()
    }
}
