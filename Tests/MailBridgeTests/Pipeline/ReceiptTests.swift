import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// The receipt (issue 17): a validly signed, encrypted message gets one signed, encrypted acknowledgement to the
/// thread's key, at most once per thread and period; nothing else ever does. Real gpg on both sides, a real store.
@Suite struct ReceiptTests: RedTeamHelpers {
    static let address = "klient@example.net"
    static let day: TimeInterval = 86_400

    /// A settable clock for the pipeline.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var current = Date()
        var now: Date { lock.withLock { current } }
        func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
    }

    private func receipts(_ harness: PipelineHarness) async throws -> [OutboxItem] {
        try await harness.outbox().filter { $0.kind == .receipt }
    }

    /// The inner entity a client signs and encrypts, with the canary in subject, body and file name.
    private func signedMail(_ harness: PipelineHarness, client: KeyFingerprint, canary: String,
                            in gnupg: GnuPGClient? = nil) throws -> [UInt8] {
        let inner = PipelineHarness.innerEntity(subject: "Frage \(canary)-subject", body: "Hallo \(canary)-body",
                                                fileName: "\(canary)-file.pdf")
        return try encrypt(harness, Array(inner.utf8), signer: client, in: gnupg)
    }

    private func autocryptHeader(_ harness: PipelineHarness, _ key: KeyFingerprint,
                                 in gnupg: GnuPGClient? = nil, address: String = address) throws -> String {
        try autocrypt(key, address, in: gnupg ?? harness.client)
    }

    /// `text` with quoted-printable soft line breaks removed and `=XX` decoded (RFC 2045 §6.7), as UTF-8.
    static func quotedPrintableDecoded(_ text: String) -> String {
        let joined = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < joined.count {
            if joined[index] == UInt8(ascii: "="), index + 2 < joined.count,
                let byte = UInt8(String(decoding: joined[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(joined[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The armored OpenPGP block of a PGP/MIME mail.
    private func armoredBlock(_ mail: String) throws -> [UInt8] {
        let start = try #require(mail.range(of: "-----BEGIN PGP MESSAGE-----"))
        let end = try #require(mail.range(of: "-----END PGP MESSAGE-----"))
        return Array(String(mail[start.lowerBound..<end.upperBound]).replacingOccurrences(of: "\r\n", with: "\n").utf8)
    }

    @Test func aValidlySignedMessageGetsOneEncryptedSignedReceipt() async throws {
        let harness = try await PipelineHarness(receiptPeriod: Self.day)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let client = try harness.client.makeKey(Self.address)
        let outcome = try await send(harness, from: Self.address,
                                     ciphertext: try signedMail(harness, client: client, canary: canary),
                                     headers: try autocryptHeader(harness, client))
        let thread = try #require(imported(outcome), "\(outcome)")
        #expect(try await opened(harness, thread).messages.first?.verdict == .valid)

        let outbox = try await harness.outbox()
        #expect(outbox.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.notification, .receipt])
        let receipt = try #require(outbox.first { $0.kind == .receipt })
        #expect(receipt.thread == thread)
        #expect(receipt.recipient.unredactedDescription == Self.address)
        let mail = receipt.payload.text
        #expect(mail.contains("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\""))
        #expect(mail.contains("Subject: ...\r\n"))
        #expect(mail.contains("Auto-Submitted: auto-replied\r\n"))
        #expect(!mail.contains("In-Reply-To") && !mail.contains("References"))
        #expect(!mail.contains("Wir haben Ihre"))  // the text is only inside the encryption

        // The client decrypts it with gpg: the configured text, signed by the mailbox's gateway key.
        let gpg = try harness.client.gpg(["--status-fd", "2", "--decrypt"], stdin: try armoredBlock(mail))
        let plaintext = gpg.stdout.text
        #expect(plaintext.contains("Subject: Ihre Nachricht ist angekommen"))
        let body = MessageTemplate.builtInText(.receipt, language: .de)
        #expect(Self.quotedPrintableDecoded(plaintext).replacingOccurrences(of: "\r\n", with: "\n").contains(body))
        #expect(body.contains("Wir antworten in der Regel"))
        #expect(gpg.stderr.contains("[GNUPG:] VALIDSIG") && gpg.stderr.contains(harness.gateway.hex))
        // Encrypted to the thread's key only.
        #expect(gpg.stderr.contains("[GNUPG:] ENC_TO"))
        let encTo = gpg.stderr.split(separator: "\n").filter { $0.hasPrefix("[GNUPG:] ENC_TO") }
        #expect(encTo.count == 1)

        // The canary is in no receipt plaintext, no queued mail, no log line, not in the raw database.
        #expect(!plaintext.contains(canary))
        try await assertContained(harness, canary)
        let audit = try await harness.store.read { try $0.latestAuditEntries(AuditFilter(thread: thread), limit: 50) }
        #expect(audit.filter { $0.event == .receiptQueued }.count == 1)
        await harness.close()
    }

    @Test func atMostOneReceiptPerThreadAndPeriod() async throws {
        let clock = Clock()
        let harness = try await PipelineHarness(receiptPeriod: Self.day, now: { clock.now })
        let client = try harness.client.makeKey(Self.address)
        let header = try autocryptHeader(harness, client)
        for index in 0..<3 {
            let outcome = try await send(harness, from: Self.address,
                                         ciphertext: try signedMail(harness, client: client, canary: "m\(index)"),
                                         headers: header)
            #expect(imported(outcome) != nil, "\(outcome)")
            clock.advance(3600)
        }
        #expect(try await receipts(harness).count == 1)
        // After the period, the next valid message gets the next receipt; a replay of it gets none.
        clock.advance(Self.day)
        let later = try signedMail(harness, client: client, canary: "later")
        #expect(imported(try await send(harness, from: Self.address, ciphertext: later, headers: header)) != nil)
        #expect(try await receipts(harness).count == 2)
        clock.advance(2 * Self.day)
        #expect(try await send(harness, from: Self.address, ciphertext: later, headers: header)
                == .rejectedEncrypted(.replayedCiphertext))
        #expect(try await receipts(harness).count == 2)
        // The time lives in the store: a new pipeline over the same store (a restart) still counts it.
        let restarted = Pipeline(store: harness.store, pgp: harness.pgp,
                                 configuration: .init(mailboxes: [harness.mailbox], receiptPeriod: Self.day),
                                 logger: harness.logs.logger("pipeline"), now: { clock.now })
        clock.advance(Self.day + 60)
        _ = try await send(harness, from: Self.address,
                           ciphertext: try signedMail(harness, client: client, canary: "a"), headers: header)
        let armor = String(decoding: try signedMail(harness, client: client, canary: "b"), as: UTF8.self)
        let raw = "From: \(Self.address)\nTo: \(PipelineHarness.counselling)\nSubject: ...\n"
            + "Message-ID: <restart@example.net>\n\(header)MIME-Version: 1.0\n"
            + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\n\n"
            + "--b0\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
            + "--b0\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n\(armor)\n--b0--\n"
        #expect(imported(try await restarted.accept(try harness.spool(raw, from: Self.address))) != nil)
        #expect(try await receipts(harness).count == 3)
        await harness.close()
    }

    /// A client's signed ciphertext captured and sent on by someone else: from the attacker's own address it is
    /// not valid (the key does not claim that address) and gets nothing; with the client's address forged in From
    /// and the attacker's envelope sender, the receipt goes to the client (From, bound to the key), encrypted to
    /// the client, never to the envelope; any copy after the first is a replay and gets nothing.
    @Test func aCapturedCiphertextNeverGetsTheSenderAReceipt() async throws {
        let harness = try await PipelineHarness(receiptPeriod: 60)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let client = try harness.client.makeKey(Self.address)
        let header = try autocryptHeader(harness, client)
        let attacker = "angreifer@evil.example"
        let first = try signedMail(harness, client: client, canary: canary)
        let second = try signedMail(harness, client: client, canary: canary + "2")

        // From the attacker's address: the signer's key does not claim it.
        _ = try await send(harness, from: attacker, ciphertext: first, headers: header)
        #expect(try await receipts(harness).isEmpty)
        // The client's own copy of the same message is imported once (valid): one receipt, to the client.
        _ = try await send(harness, from: Self.address, ciphertext: first, headers: header)
        var sent = try await receipts(harness)
        #expect(sent.count == 1 && sent.allSatisfy { $0.recipient.unredactedDescription == Self.address })
        // Sent on again, with From forged to the client: a replay, nothing.
        #expect(try await send(harness, from: Self.address, ciphertext: first, headers: header, envelope: attacker)
                == .rejectedEncrypted(.replayedCiphertext))
        // A second message captured before it arrived, forged From, the attacker's envelope: the receipt (after the
        // period) still goes only to the client's address and key.
        let later = Pipeline(store: harness.store, pgp: harness.pgp,
                             configuration: .init(mailboxes: [harness.mailbox], receiptPeriod: 60),
                             logger: harness.logs.logger("pipeline"), now: { Date().addingTimeInterval(120) })
        let armor = String(decoding: second, as: UTF8.self)
        let raw = "From: \(Self.address)\nTo: \(PipelineHarness.counselling)\nSubject: ...\n"
            + "Message-ID: <forged@evil.example>\n\(header)MIME-Version: 1.0\n"
            + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\n\n"
            + "--b0\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
            + "--b0\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n\(armor)\n--b0--\n"
        #expect(imported(try await later.accept(try harness.spool(raw, from: attacker))) != nil)
        sent = try await receipts(harness)
        #expect(sent.count == 2 && sent.allSatisfy { $0.recipient.unredactedDescription == Self.address })
        for receipt in sent {
            let mail = receipt.payload.text
            #expect(!mail.contains(attacker) && !mail.contains("evil.example"))
            let gpg = try harness.client.gpg(["--status-fd", "2", "--decrypt"], stdin: try armoredBlock(mail))
            #expect(gpg.stderr.split(separator: "\n").filter { $0.hasPrefix("[GNUPG:] ENC_TO") }.count == 1)
            #expect(!gpg.stdout.text.contains(canary) && !gpg.stdout.text.contains("evil.example"))
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    @Test func receiptsSwitchedOffSendNone() async throws {
        let harness = try await PipelineHarness(receiptPeriod: nil)
        let client = try harness.client.makeKey(Self.address)
        let outcome = try await send(harness, from: Self.address,
                                     ciphertext: try signedMail(harness, client: client, canary: "off"),
                                     headers: try autocryptHeader(harness, client))
        let thread = try #require(imported(outcome))
        #expect(try await opened(harness, thread).messages.first?.verdict == .valid)
        #expect(try await harness.outbox().map(\.kind) == [.notification])
        await harness.close()
    }

    /// Unsigned, badly signed, signed by a key that does not claim From, by an unknown key, or auto-submitted:
    /// no receipt, whatever else happens to the message.
    @Test func noReceiptForAnythingButAValidSignature() async throws {
        let harness = try await PipelineHarness(receiptPeriod: Self.day)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let client = try harness.client.makeKey(Self.address)
        let header = try autocryptHeader(harness, client)
        let inner = Array(PipelineHarness.innerEntity(subject: "s \(canary)", body: "b \(canary)",
                                                      fileName: "f.pdf").utf8)

        // Unsigned, encrypted to the gateway and the client's own key (as Thunderbird does): imported, unsigned.
        let unsigned = try encrypt(harness, inner, signer: nil, to: [harness.gateway, client])
        let unsignedOutcome = try await send(harness, from: Self.address, ciphertext: unsigned, headers: header)
        if let thread = imported(unsignedOutcome) {
            #expect(try await opened(harness, thread).messages.last?.verdict == .unsigned)
        }

        // A bad signature: one byte of the signed literal data changed, re-encrypted to the gateway.
        let signedOnly = try harness.client.gpg(["--sign", "-z", "0", "--local-user", client.hex], stdin: inner).stdout
        let marker = Array("b \(canary)".utf8)
        let at = try #require(signedOnly.firstRange(of: marker))
        var tampered = signedOnly
        tampered[at.lowerBound] = UInt8(ascii: "X")
        _ = try await send(harness, from: Self.address, ciphertext: wrap(harness, tampered), headers: header)

        // Signed by the client's key, but From is an address the key does not claim.
        _ = try await send(harness, from: "andere@example.net",
                           ciphertext: try signedMail(harness, client: client, canary: canary),
                           headers: try autocryptHeader(harness, client, address: "andere@example.net"))

        // Signed by a key the gateway does not know (no Autocrypt, no attached key).
        let (stranger, strangerKey) = try await otherClient(harness, "stranger", userID: "S <fremd@example.net>")
        _ = try await send(harness, from: "fremd@example.net",
                           ciphertext: try signedMail(harness, client: strangerKey, canary: canary, in: stranger))

        // Validly signed, but the outer message says it was sent automatically (RFC 3834).
        let auto = try await send(harness, from: Self.address,
                                  ciphertext: try signedMail(harness, client: client, canary: canary),
                                  headers: header + "Auto-Submitted: auto-replied\n")
        if let thread = imported(auto) {
            #expect(try await opened(harness, thread).messages.last?.verdict == .valid)
        }

        let verdicts = try await threads(harness).flatMap { $0.messages.map(\.verdict) }
        #expect(!verdicts.isEmpty)
        #expect(try await receipts(harness).isEmpty, "verdicts: \(verdicts)")
        try await assertContained(harness, canary)
        await harness.close()
    }
}
