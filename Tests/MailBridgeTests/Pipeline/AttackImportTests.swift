import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 16, end to end through the inbound funnel: an attacker who can send any mail and holds captured
/// ciphertexts. Every attack is generated at test time (gpg, sq, `Tests/Tools/pgpcraft.py`) and carries a canary
/// that must reach no outbound mail, log line, raw database/WAL or spool file; no attack may produce a reply to
/// its sender, put a victim's words into another thread, or be shown as "valid".
@Suite struct AttackImportTests {
    static let pgpcraft = packageRoot.appendingPathComponent("Tests/Tools/pgpcraft.py").path
    static let victim = "klientin@example.net"
    static let attacker = "mallory@evil.example"

    // MARK: Helpers

    private func craft(_ arguments: [String]) throws -> [UInt8] {
        try Shell.run("python3", [Self.pgpcraft] + arguments).stdout
    }

    private func file(_ harness: PipelineHarness, _ name: String, _ bytes: [UInt8]) throws -> String {
        let url = harness.root.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// A text entity; `padding` adds incompressible text (partial-length framing needs 512 octets of data).
    private func inner(_ canary: String, headers: String = "", padding: Bool = false) -> [UInt8] {
        let filler = padding ? (0..<24).map { _ in UUID().uuidString }.joined(separator: " ") : ""
        let text = "Content-Type: text/plain; charset=utf-8\r\n\(headers)\r\nHallo, hier ist \(canary).\r\n\(filler)"
        return Array(text.utf8)
    }

    /// Signed by `signer` and encrypted to `recipients` (default: the first mailbox) with gpg in `client`'s home
    /// (default: the harness's client).
    private func encrypt(_ harness: PipelineHarness, _ plaintext: [UInt8], signer: KeyFingerprint?,
                         to recipients: [KeyFingerprint]? = nil, in client: GnuPGClient? = nil) throws -> [UInt8] {
        var arguments = ["--armor", "--encrypt"]
        for recipient in recipients ?? [harness.gateway] { arguments += ["--recipient", recipient.hex] }
        if let signer { arguments += ["--sign", "--local-user", signer.hex] }
        return try (client ?? harness.client).gpg(arguments, stdin: plaintext).stdout
    }

    /// Another mail client (its own GnuPG home, knowing the gateway's public key) with a new key for `address`.
    private func otherClient(_ harness: PipelineHarness, _ name: String,
                             address: String) async throws -> (GnuPGClient, KeyFingerprint) {
        let client = try GnuPGClient(home: harness.root.appendingPathComponent(name))
        try client.gpg(["--import"], stdin: try await harness.pgp.exportPublicKey(harness.gateway))
        return (client, try client.makeKey(address))
    }

    private func autocrypt(_ harness: PipelineHarness, _ key: KeyFingerprint, _ address: String,
                           in client: GnuPGClient? = nil) throws -> [String: String] {
        let keydata = try (client ?? harness.client).gpg(["--export", "--export-options", "export-minimal",
                                                          key.hex]).stdout
        return ["Autocrypt": " addr=\(address); prefer-encrypt=mutual; keydata=\(Data(keydata).base64EncodedString())"]
    }

    private func send(_ harness: PipelineHarness, from: String, ciphertext: [UInt8], key: KeyFingerprint? = nil,
                      keyIn client: GnuPGClient? = nil, to recipient: String = PipelineHarness.counselling,
                      base64: Bool = false) async throws -> AcceptOutcome {
        let raw = try harness.pgpMIMEMail(
            from: from, ciphertext: ciphertext, messageID: "<\(UUID().uuidString)@example.net>",
            extraHeaders: try key.map { try autocrypt(harness, $0, from, in: client) } ?? [:], to: recipient,
            base64: base64)
        return try await harness.pipeline.accept(try harness.spool(raw, from: from, to: recipient))
    }

    /// The same attack as one inline armored block in a text/plain body.
    private func sendInline(_ harness: PipelineHarness, from: String, ciphertext: [UInt8]) async throws
        -> AcceptOutcome
    {
        let raw = "From: \(from)\nTo: \(PipelineHarness.counselling)\nSubject: hi\n"
            + "Message-ID: <\(UUID().uuidString)@example.net>\nContent-Type: text/plain\n\n"
            + String(decoding: ciphertext, as: UTF8.self)
        return try await harness.pipeline.accept(try harness.spool(raw, from: from))
    }

    private func verdicts(_ harness: PipelineHarness, _ thread: ThreadID) async throws -> [SignatureVerdictCode] {
        try await harness.store.read { try $0.openThread(thread) }.messages.map(\.verdict)
    }

    /// The canary is nowhere an attacker or a bystander could read it; nothing was queued for `sender`.
    private func assertContained(_ harness: PipelineHarness, _ canary: String, noMailTo sender: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let outbox = try await harness.outbox()
        for item in outbox {
            #expect(!item.payload.text.contains(canary), "canary in outbound mail", sourceLocation: sourceLocation)
            #expect(item.recipient.unredactedDescription.lowercased() != sender.lowercased(),
                    "mail queued to the attacker", sourceLocation: sourceLocation)
        }
        for line in harness.logs.all {
            #expect(!line.contains(canary), "canary in a log line", sourceLocation: sourceLocation)
        }
        #expect(try harness.rawDatabaseBytes().firstRange(of: Array(canary.utf8)) == nil,
                "canary in the raw database", sourceLocation: sourceLocation)
        let spool = harness.root.appendingPathComponent("spool")
        for name in try FileManager.default.contentsOfDirectory(atPath: spool.path) {
            let bytes = Array(try Data(contentsOf: spool.appendingPathComponent(name)))
            #expect(bytes.firstRange(of: Array(canary.utf8)) == nil, "canary in a spool file",
                    sourceLocation: sourceLocation)
        }
    }

    // MARK: 1. Replays by meaning

    /// A captured ciphertext, re-encoded every way the attack run used, sent from the attacker's own address
    /// with the attacker's own Autocrypt key: never imported, whatever the armor, framing or MIME shape.
    @Test func capturedCiphertextInAnyEncodingIsAReplay() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        let captured = try encrypt(harness, inner(canary, padding: true), signer: victimKey)
        guard case .imported(let thread, true) = try await send(harness, from: Self.victim, ciphertext: captured,
                                                                key: victimKey)
        else { Issue.record("the victim's mail was not imported"); return }
        #expect(try await verdicts(harness, thread) == [.valid])
        let path = try file(harness, "captured.asc", captured)

        var shapes: [(String, [UInt8], Bool)] = [("as captured", captured, false)]
        for variant in ["comment", "line64", "line76", "line40", "nocrc", "lf", "crlf", "marker", "oldheaders",
                        "newheaders", "partial"] {
            shapes.append((variant, try craft(["reencode", variant, path]), false))
        }
        // Armor sent base64-encoded. (Binary OpenPGP in a PGP/MIME part is not taken as encrypted mail at all: the
        // classifier wants armor, so it gets the plain-mail redirect and is never decrypted; PGPShim's own test
        // shows the binary form has the same session key.)
        shapes.append(("armor, base64 transfer encoding", captured, true))
        shapes.append(("marker, base64 transfer encoding", try craft(["reencode", "marker", path]), true))
        shapes.append(("LF armor, base64 transfer encoding", try craft(["reencode", "lf", path]), true))
        for (name, ciphertext, base64) in shapes {
            let outcome = try await send(harness, from: Self.attacker, ciphertext: ciphertext, key: attackerKey,
                                         base64: base64)
            // GnuPG 2.2.40 cannot read armor without CRC whose base64 ends without padding (it decodes the END line
            // as data): such a copy is refused by the engine before any replay check.
            let unreadable: Set<AcceptOutcome> = name == "nocrc"
                ? [.rejectedEncrypted(.notEncrypted), .rejectedEncrypted(.corrupted)] : []
            #expect(outcome == .rejectedEncrypted(.replayedCiphertext) || unreadable.contains(outcome),
                    "\(name): \(outcome)")
        }
        // Inline instead of PGP/MIME.
        let inline = "From: \(Self.attacker)\nTo: \(PipelineHarness.counselling)\nSubject: hi\n"
            + "Message-ID: <inline-replay@evil.example>\nContent-Type: text/plain\n\n"
            + String(decoding: try craft(["reencode", "comment", path]), as: UTF8.self)
        #expect(try await harness.pipeline.accept(try harness.spool(inline, from: Self.attacker))
                == .rejectedEncrypted(.replayedCiphertext))
        // The victim's own thread is untouched; the attacker has none; one notice (for the victim's mail).
        #expect(try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }.map(\.id) == [thread])
        #expect(try await verdicts(harness, thread) == [.valid])
        #expect(try await harness.outbox().count == 1)
        try await assertContained(harness, canary, noMailTo: Self.attacker)
        await harness.close()
    }

    /// The victim's signed message, decrypted by its intended (other) recipient or taken from a signed-only
    /// mail, re-encrypted by the attacker: if its content was imported before, it is a replay.
    @Test func reEncryptedContentOfAnImportedMessageIsAReplay() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        // The victim signs once and sends the same signed message to the gateway (imported) ...
        let signed = try harness.client.gpg(["--sign", "--local-user", victimKey.hex], stdin: inner(canary)).stdout
        let toGateway = try craft(["wrap", "--recipient-home", harness.client.home.path, "--recipient",
                                   harness.gateway.hex, try file(harness, "signed.gpg", signed)])
        guard case .imported(let thread, true) = try await send(harness, from: Self.victim, ciphertext: toGateway,
                                                                key: victimKey)
        else { Issue.record("the victim's mail was not imported"); return }
        #expect(try await verdicts(harness, thread) == [.valid])
        // ... and the attacker, who has the signed message, wraps it in a new encryption (new session key).
        for (from, key) in [(Self.attacker, attackerKey), (Self.victim, victimKey)] {
            for compress in ["none", "zlib"] {
                let rewrapped = try craft(["wrap", "--recipient-home", harness.client.home.path, "--recipient",
                                           harness.gateway.hex, "--compress", compress,
                                           try file(harness, "signed.gpg", signed)])
                let outcome = try await send(harness, from: from, ciphertext: rewrapped, key: key)
                #expect(outcome == .rejectedEncrypted(.replayedCiphertext), "\(from) \(compress): \(outcome)")
            }
        }
        #expect(try await verdicts(harness, thread) == [.valid])
        try await assertContained(harness, canary, noMailTo: Self.attacker)
        await harness.close()
    }

    /// A known client's fresh ciphertext, delivered first by the attacker from the attacker's address: it goes to
    /// the client's own thread (marked as not from its From address), never to a thread whose replies go to the
    /// attacker; the client's own copy arriving afterwards is imported too, as valid.
    @Test func aClientsCiphertextSentFirstByAnotherSenderStaysInTheClientsThread() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        guard case .imported(let thread, true) = try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            key: victimKey)
        else { Issue.record("the victim's first mail was not imported"); return }
        let fresh = try encrypt(harness, inner(canary), signer: victimKey)
        let stolen = try await send(harness, from: Self.attacker, ciphertext: fresh, key: attackerKey)
        #expect(stolen == .imported(thread, createdThread: false), "\(stolen)")
        #expect(try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }.map(\.id) == [thread])
        let genuine = try await send(harness, from: Self.victim, ciphertext: fresh, key: victimKey)
        #expect(genuine == .imported(thread, createdThread: false), "\(genuine)")
        #expect(try await verdicts(harness, thread) == [.valid, .signerAddressMismatch, .valid])
        // Once the client's own copy is in, every further copy, from anyone, is a replay.
        for (from, key) in [(Self.attacker, attackerKey), (Self.victim, victimKey)] {
            let again = try await send(harness, from: from, ciphertext: fresh, key: key)
            #expect(again == .rejectedEncrypted(.replayedCiphertext), "\(from): \(again)")
        }
        #expect(try await verdicts(harness, thread).count == 3)
        try await assertContained(harness, canary, noMailTo: Self.attacker)
        await harness.close()
    }

    // MARK: 2. Nested encryption

    /// The victim's complete encrypted message as the plaintext of the attacker's message, raw, compressed or
    /// inside literal data: refused, nothing imported, no reply.
    @Test func nestedEncryptionIsRefused() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        let captured = try encrypt(harness, inner(canary), signer: victimKey)
        let path = try file(harness, "captured.asc", captured)
        for wrapping in [["--compress", "none"], ["--compress", "zip"], ["--compress", "zlib"], ["--literal"]] {
            let outer = try craft(["nest", "--recipient-home", harness.client.home.path, "--recipient",
                                   harness.gateway.hex] + wrapping + [path])
            let outcome = try await send(harness, from: Self.attacker, ciphertext: outer, key: attackerKey)
            #expect(outcome == .rejectedEncrypted(.nestedEncryption), "\(wrapping): \(outcome)")
            let inline = try await sendInline(harness, from: Self.attacker, ciphertext: outer)
            #expect(inline == .rejectedEncrypted(.nestedEncryption), "inline \(wrapping): \(inline)")
        }
        #expect(try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }.isEmpty)
        #expect(try await harness.outbox().isEmpty)
        try await assertContained(harness, canary, noMailTo: Self.attacker)
        // The victim's message itself still imports afterwards (the nested attempts recorded nothing of it).
        guard case .imported = try await send(harness, from: Self.victim, ciphertext: captured, key: victimKey)
        else { Issue.record("the genuine message was refused"); return }
        await harness.close()
    }

    // MARK: 4. Signer binding

    /// "Johnny, you are fired": From is the victim, the good signature is someone else's. Never valid; the
    /// victim's thread is never appended to.
    @Test func goodSignatureByAnotherKeyIsNeverValidForTheVictim() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        guard case .imported(let victimThread, true) = try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("genuine"), signer: victimKey),
            key: victimKey)
        else { Issue.record("the victim's mail was not imported"); return }

        // (a) The attacker's own key (user ID: the attacker), offered by Autocrypt.
        let attackerKey = try harness.client.makeKey(Self.attacker)
        // (b) A fresh key whose user ID claims the victim's address, offered by Autocrypt.
        let (claiming, claimingKey) = try await otherClient(harness, "claiming", address: Self.victim)
        // (c) Another claiming key, attached inside the encryption only.
        let (attaching, attachedKey) = try await otherClient(harness, "attaching", address: Self.victim)
        let attached = try attaching.gpg(["--armor", "--export", attachedKey.hex]).stdout
        let withKey = Array("""
            Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
            Hallo \(canary)-c\r\n--b\r\nContent-Type: application/pgp-keys\r\n\
            Content-Disposition: attachment; filename="key.asc"\r\n\r\n\(attached.text)\r\n--b--\r\n
            """.utf8)
        let cases: [(String, [UInt8], KeyFingerprint?, GnuPGClient, SignatureVerdictCode)] = [
            ("attacker's key", try encrypt(harness, inner("\(canary)-a"), signer: attackerKey), attackerKey,
             harness.client, .signerAddressMismatch),
            ("key claiming the address", try encrypt(harness, inner("\(canary)-b"), signer: claimingKey, in: claiming),
             claimingKey, claiming, .unconfirmedKeyChange),
            ("key attached inside", try encrypt(harness, withKey, signer: attachedKey, in: attaching), nil, attaching,
             .unconfirmedKeyChange),
        ]
        for (name, ciphertext, offered, client, expected) in cases {
            guard case .imported(let thread, _) = try await send(harness, from: Self.victim, ciphertext: ciphertext,
                                                                 key: offered, keyIn: client)
            else { Issue.record("\(name): not imported"); continue }
            #expect(thread != victimThread, "\(name): appended to the victim's thread")
            let opened = try await harness.store.read { try $0.openThread(thread) }
            #expect(opened.messages.last?.verdict == expected, "\(name): \(String(describing: opened.messages.last?.verdict))")
            // The signer shown is the key that signed, never the victim's.
            #expect(opened.messages.last?.signer?.fingerprint != victimKey, "\(name)")
            // Inline, the same signed content is a replay of what was just imported; a fresh inline mail by the
            // same key gets the same verdict.
            let fresh = name == "key attached inside" ? nil
                : try encrypt(harness, inner("\(canary)-\(name.count)-inline"), signer: offered!, in: client)
            if let fresh {
                guard case .imported(let inlineThread, _) = try await sendInline(harness, from: Self.victim,
                                                                                ciphertext: fresh)
                else { Issue.record("\(name) inline: not imported"); continue }
                #expect(inlineThread != victimThread, "\(name) inline: appended to the victim's thread")
                let last = try await harness.store.read { try $0.openThread(inlineThread) }.messages.last
                #expect(last?.verdict == expected, "\(name) inline: \(String(describing: last?.verdict))")
            }
        }
        #expect(try await verdicts(harness, victimThread) == [.valid])
        try await assertContained(harness, canary, noMailTo: Self.victim)
        await harness.close()
    }

    /// The signed inner headers contradict the envelope (another sender, another recipient), the signature is
    /// old, or its Intended Recipient Fingerprint names another key: each is shown as such, never as valid.
    @Test func signatureBoundToHeadersTimeAndIntendedRecipient() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let old = Int(Date().timeIntervalSince1970) - 60 * 86_400
        let victimKey = try harness.client.makeKey(Self.victim, extra: ["--faked-system-time", "\(old)"])
        guard case .imported(let thread, true) = try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("genuine"), signer: victimKey),
            key: victimKey)
        else { Issue.record("the victim's mail was not imported"); return }

        let fortyDaysAgo = Int(Date().timeIntervalSince1970) - 40 * 86_400
        let bob = try harness.client.makeKey("bob@elsewhere.example")
        // sq writes Intended Recipient Fingerprints; a message signed for Bob, unwrapped by Bob, re-wrapped.
        let certs = harness.root.appendingPathComponent("certs")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        let bobCert = try file(harness, "certs/bob.pgp", try harness.client.gpg(["--export", bob.hex]).stdout)
        let gatewayCert = try file(harness, "certs/gw.pgp", try harness.client.gpg(["--export", harness.gateway.hex]).stdout)
        let victimSecret = try file(harness, "certs/victim.key",
                                    try harness.client.gpg(["--export-secret-keys", victimKey.hex]).stdout)
        func sq(_ arguments: [String], _ input: [UInt8]) throws -> [UInt8] {
            try Shell.run("sq", arguments, stdin: input,
                          environment: ["SEQUOIA_HOME": harness.root.appendingPathComponent("sq").path],
                          allowFailure: false).stdout
        }
        let forBob = try sq(["encrypt", "--recipient-cert", bobCert, "--signer-key", victimSecret],
                            inner("\(canary)-irf"))
        let unwrapped = try harness.client.gpg(["--unwrap", "--decrypt"], stdin: forBob).stdout
        let forwarded = try craft(["wrap", "--recipient-home", harness.client.home.path, "--recipient",
                                   harness.gateway.hex, try file(harness, "unwrapped.gpg", unwrapped)])
        let forUs = try sq(["encrypt", "--recipient-cert", gatewayCert, "--recipient-cert", bobCert,
                            "--signer-key", victimSecret], inner("sq to the gateway and Bob"))

        // A signed-only message the victim wrote 40 days ago, encrypted to the gateway by someone else.
        let signedLongAgo = try harness.client.gpg(["--faked-system-time", "\(fortyDaysAgo)", "--sign",
                                                    "--local-user", victimKey.hex], stdin: inner("\(canary)-o")).stdout
        let oldSigned = try craft(["wrap", "--recipient-home", harness.client.home.path, "--recipient",
                                   harness.gateway.hex, try file(harness, "old.gpg", signedLongAgo)])

        let cases: [(String, [UInt8], SignatureVerdictCode)] = [
            ("protected From of someone else",
             try encrypt(harness, inner("\(canary)-f", headers: "From: other@example.net\r\n"), signer: victimKey),
             .signerAddressMismatch),
            ("protected To of someone else",
             try encrypt(harness, inner("\(canary)-t", headers: "To: bob@elsewhere.example\r\n"), signer: victimKey),
             .notForThisRecipient),
            ("old signed-only message, re-encrypted", oldSigned, .oldSignature),
            ("signed for Bob, forwarded", forwarded, .notForThisRecipient),
            ("sq, intended for the gateway and Bob", forUs, .valid),
            ("protected From and To that match",
             try encrypt(harness, inner("matching", headers: "From: Klientin <\(Self.victim)>\r\nTo: "
                                        + "\(PipelineHarness.counselling)\r\n"), signer: victimKey),
             .valid),
        ]
        for (name, ciphertext, expected) in cases {
            let outcome = try await send(harness, from: Self.victim, ciphertext: ciphertext)
            #expect(outcome == .imported(thread, createdThread: false), "\(name): \(outcome)")
            let last = try await harness.store.read { try $0.openThread(thread) }.messages.last
            #expect(last?.verdict == expected, "\(name): \(String(describing: last?.verdict))")
            #expect(last?.signer?.fingerprint == victimKey, "\(name): signer")
            #expect(last?.signer?.userID.contains(Self.victim) == true, "\(name): user ID")
        }
        try await assertContained(harness, canary, noMailTo: Self.victim)
        await harness.close()
    }

    // MARK: 5. Mailbox isolation

    /// Mail encrypted only to mailbox A's key but sent to mailbox B is not for us; encrypted to both and sent to
    /// B, it lands in B's field; sent to A, in A's.
    @Test func aMailboxKeyOpensOnlyItsOwnMail() async throws {
        let harness = try await PipelineHarness(secondMailbox: true)
        let second = try #require(harness.secondMailbox)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let clientKey = try harness.client.makeKey(Self.victim)
        let onlyA = try encrypt(harness, inner("\(canary)-a"), signer: clientKey)
        #expect(try await send(harness, from: Self.victim, ciphertext: onlyA, key: clientKey, to: PipelineHarness.second)
                == .rejectedEncrypted(.notForUs))
        #expect(try await harness.store.read { try $0.listThreads(field: second.field) }.isEmpty)

        let both = try encrypt(harness, inner("to both"), signer: clientKey, to: [harness.gateway, second.gatewayKey])
        guard case .imported(let inB, true) = try await send(harness, from: Self.victim, ciphertext: both,
                                                             key: clientKey, to: PipelineHarness.second)
        else { Issue.record("mail encrypted to both keys was not imported for B"); return }
        #expect(try await harness.store.read { try $0.thread(inB) }?.field == second.field)

        guard case .imported(let inA, true) = try await send(harness, from: Self.victim, ciphertext: onlyA,
                                                             key: clientKey)
        else { Issue.record("mail for A was not imported for A"); return }
        #expect(try await harness.store.read { try $0.thread(inA) }?.field == harness.mailbox.field)
        try await assertContained(harness, canary, noMailTo: Self.victim)
        await harness.close()
    }
}
