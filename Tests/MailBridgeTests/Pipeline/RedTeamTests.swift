import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Red-team cases beyond ``AttackImportTests``: each test asserts the SAFE behaviour. A test marked `// BREAK:`
/// fails while the promise is broken; `// FALSE-POSITIVE:` fails while a legitimate client's message is dropped;
/// the others show that a defence holds. Attack messages are built at test time from real gpg, sq, sqop and rnp
/// output with `Tests/Tools/pgpcraft.py` and `Tests/Tools/redteamcraft.py`.
@Suite struct RedTeamTests: RedTeamHelpers {
    static let pgpcraft = packageRoot.appendingPathComponent("Tests/Tools/pgpcraft.py").path
    static let redteamcraft = packageRoot.appendingPathComponent("Tests/Tools/redteamcraft.py").path
    static let victim = "klientin@example.net"
    static let attacker = "mallory@evil.example"

    // Helpers: ``RedTeamHelpers`` (AttackMailHelpers.swift).

    // MARK: 1. Replays whose decrypted meaning is the same

    // BREAK: the literal packet's file name and date are not covered by the signature but are part of the content
    // replay fingerprint, so the victim's already imported signed message, re-wrapped with another file name or
    // date, is imported again (as `valid` in the victim's thread, or into a thread with the attacker's address).
    @Test func signedContentWithOtherLiteralFileNameOrDateIsStillAReplay() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        let signed = try harness.client.gpg(["--sign", "--local-user", victimKey.hex], stdin: inner(canary)).stdout
        let signedPath = try file(harness, "signed.gpg", signed)
        let victimAutocrypt = try autocrypt(victimKey, Self.victim, in: harness.client)
        guard let thread = imported(try await send(harness, from: Self.victim, ciphertext: try wrap(harness, signed),
                                                   headers: victimAutocrypt))
        else { Issue.record("the victim's mail was not imported"); return }
        #expect(try await opened(harness, thread).messages.map(\.verdict) == [.valid])

        for (from, key) in [(Self.victim, victimKey), (Self.attacker, attackerKey)] {
            for (name, date) in [("\(from.prefix(4))-brief.txt", "1234567"), ("", from == Self.victim ? "0" : "1")] {
                let relabelled = try redteam(["relit", signedPath, "--name", name, "--date", date])
                let outcome = try await send(harness, from: from, ciphertext: try wrap(harness, relabelled),
                                             headers: try autocrypt(key, from, in: harness.client))
                #expect(outcome == .rejectedEncrypted(.replayedCiphertext), "\(from) '\(name)' \(date): \(outcome)")
            }
        }
        #expect(try await opened(harness, thread).messages.count == 1, "the victim's thread got a second copy")
        #expect(try await threads(harness).count == 1, "a copy landed in another thread")
        try await assertContained(harness, canary)
        await harness.close()
    }

    // BREAK (stop 14): a victim's fresh signed ciphertext that the attacker delivers first, from the attacker's own
    // address, was imported into a thread bound to the victim's key and the ATTACKER's address (replies went
    // there); the victim's genuine copy was then silently dropped as a replay.
    //
    // Since issue 17 mail signed by a key the gateway does not have is kept in a thread *without key* instead of
    // being dropped. What must hold for the attacker's copy: it is never valid, sits only in a keyless thread that
    // awaits exactly the signer's key, cannot get any key the attacker holds (the awaited key must claim the
    // thread's From address, the attacker's), so a counsellor's reply there is held and never leaves; the victim's
    // own copy is still imported, valid, into the victim's thread; nothing of the text leaves in plain.
    //
    // Both variants: the attacker offers their own key (Autocrypt) with the victim's ciphertext, which contradicts
    // the signature and is refused outright, or offers none, which gives the keyless thread described above.
    @Test(arguments: [true, false])
    func victimsCiphertextDeliveredFirstByAnotherSenderNeverReachesTheAttacker(attackerOffersOwnKey: Bool)
        async throws
    {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        let captured = try encrypt(harness, inner(canary), signer: victimKey)
        let stolen = try await send(harness, from: Self.attacker, ciphertext: captured,
                                    headers: attackerOffersOwnKey
                                        ? try autocrypt(attackerKey, Self.attacker, in: harness.client) : "")
        if attackerOffersOwnKey {
            #expect(stolen == .rejectedEncrypted(.noClientKey), "\(stolen)")
        } else if let thread = imported(stolen) {
            let opened = try await opened(harness, thread)
            #expect(opened.clientKey == nil, "the attacker's copy is bound to a key: \(String(describing: opened.clientKey))")
            #expect(opened.messages.map(\.verdict) == [.missingKey], "never valid")
        }
        let genuine = try await send(harness, from: Self.victim, ciphertext: captured,
                                     headers: try autocrypt(victimKey, Self.victim, in: harness.client))
        let victimThread = try #require(imported(genuine), "the victim's own message was dropped: \(genuine)")
        let own = try await opened(harness, victimThread)
        #expect(own.clientAddress.unredactedDescription == Self.victim && own.clientKey?.hex == victimKey.hex)
        #expect(own.messages.map(\.verdict) == [.valid])
        // The attacker writes again, signed with their own key and offering it: their keyless thread does not get
        // it (it awaits the victim's key), and a reply in that thread is held, never sent.
        _ = try await send(harness, from: Self.attacker, ciphertext: try encrypt(harness, inner("hallo"), signer: attackerKey),
                           headers: try autocrypt(attackerKey, Self.attacker, in: harness.client))
        for thread in try await threads(harness) where thread.clientAddress.unredactedDescription == Self.attacker {
            let holdsCanary = thread.messages.contains { $0.body.text.contains(canary) }
            guard holdsCanary else { continue }
            #expect(thread.clientKey == nil, "the victim's words are in a thread with the attacker's key")
            let outcome = try await ReplyComposer(store: harness.store, pgp: harness.pgp, mailboxes: [harness.mailbox],
                                                  logger: harness.logs.logger("reply"))
                .queueReply(thread: thread.summary.id, text: "Antwort \(canary)-reply", counsellor: nil)
            guard case .keyUnusable = outcome else { Issue.record("a reply would be sent: \(outcome)"); continue }
        }
        #expect(try await harness.outbox().allSatisfy { $0.kind != .counsellorReply || !$0.recipient.unredactedDescription.contains("evil") })
        try await assertContained(harness, canary)
        await harness.close()
    }

    // FALSE-POSITIVE: Sequoia (sqop) and rnp write literal data with date 0 and no file name, so two unsigned
    // messages with the same text from the same client get the same content fingerprint: the second (a new
    // message, new session key, new Message-ID) is dropped as a replay, silently.
    @Test func twoUnsignedMessagesWithTheSameTextAreNotReplays() async throws {
        let harness = try await PipelineHarness()
        let sender = "kurz@example.net"
        let clientKey = try harness.client.makeKey(sender)
        let gatewayCert = try file(harness, "gateway.cert", try await harness.pgp.exportPublicKey(harness.gateway))
        // Unsigned mail must be encrypted to the sender's own key too (issue 16, second review).
        let ownCert = try file(harness, "own.cert", try harness.client.gpg(["--export", clientKey.hex]).stdout)
        let header = try autocrypt(clientKey, sender, in: harness.client)
        let text = Array("Ja, danke.\r\n".utf8)
        var outcomes: [AcceptOutcome] = []
        for _ in 0..<2 {
            let ciphertext = try Shell.run("sqop", ["encrypt", gatewayCert, ownCert], stdin: text).stdout
            outcomes.append(try await send(harness, from: sender, ciphertext: ciphertext, headers: header))
        }
        #expect(imported(outcomes[0]) != nil, "\(outcomes[0])")
        #expect(imported(outcomes[1]) != nil, "the second, new message was dropped: \(outcomes[1])")
        await harness.close()
    }

    // MARK: 2. "Valid" that the thread's client did not write to this mailbox

    // BREAK: Intended Recipient Fingerprints are merged over all signatures. A victim's message signed for Bob
    // (sq writes IRF = Bob) gets a second, attacker signature over the same literal naming the gateway; the
    // victim's signature decides the verdict and the merged list "admits" the gateway: shown as valid.
    @Test(arguments: [false, true])
    func attackersCoSignatureDoesNotMakeAForwardedMessageValid(attackerFirst: Bool) async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let bob = try harness.client.makeKey("bob@elsewhere.example")
        let attackerKey = try harness.client.makeKey(Self.attacker)
        guard let thread = imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("genuine"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client)))
        else { Issue.record("the victim's mail was not imported"); return }

        func export(_ name: String, _ arguments: [String]) throws -> String {
            try file(harness, name, try harness.client.gpg(arguments).stdout)
        }
        let bobCert = try export("bob.pgp", ["--export", bob.hex])
        let gatewayCert = try export("gw.pgp", ["--export", harness.gateway.hex])
        let attackerCert = try export("mallory.pgp", ["--export", attackerKey.hex])
        let victimSecret = try export("victim.key", ["--export-secret-keys", victimKey.hex])
        let attackerSecret = try export("mallory.key", ["--export-secret-keys", attackerKey.hex])
        func sq(_ arguments: [String], _ input: [UInt8]) throws -> [UInt8] {
            try Shell.run("sq", arguments, stdin: input,
                          environment: ["SEQUOIA_HOME": harness.root.appendingPathComponent("sq").path]).stdout
        }
        let body = inner(canary)
        // The victim's message to Bob, as Bob (or anyone Bob forwarded it to) has it after decryption.
        let forBob = try sq(["encrypt", "--recipient-cert", bobCert, "--signer-key", victimSecret], body)
        let victimSigned = try file(harness, "victim-signed.gpg",
                                    try harness.client.gpg(["--unwrap", "--decrypt"], stdin: forBob).stdout)
        // The attacker signs the same literal bytes with sq, which names the gateway as intended recipient.
        let own = try sq(["encrypt", "--recipient-cert", gatewayCert, "--recipient-cert", attackerCert,
                          "--signer-key", attackerSecret], body)
        let attackerSigned = try file(harness, "attacker-signed.gpg",
                                      try harness.client.gpg(["--unwrap", "--decrypt"], stdin: own).stdout)
        let cosigned = try redteam(["cosign", victimSigned, attackerSigned] + (attackerFirst ? ["--attacker-first"] : []))
        // From: the victim; the attacker's key arrives by Autocrypt for the victim's address.
        let outcome = try await send(harness, from: Self.victim, ciphertext: try wrap(harness, cosigned),
                                     headers: try autocrypt(attackerKey, Self.victim, in: harness.client))
        for candidate in try await threads(harness) {
            for message in candidate.messages.dropFirst(candidate.summary.id == thread ? 1 : 0) {
                #expect(message.verdict != .valid, "forwarded message shown as valid (\(outcome))")
            }
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// Look-alike and odd-syntax versions of a registered client's address, signed by a key whose user ID claims
    /// them: never "valid" once the real client is registered (a key change to confirm, or a mismatch).
    /// BREAK for "NFD" (and "IDN"): the address registry (keyed HMAC of the lower-cased bytes) does not
    /// normalise Unicode, while the user-ID check (Swift `==`, canonical equivalence) does.
    @Test(arguments: [
        ("upper-case From and user ID", "klientin@example.net", "Klientin <KLIENTIN@EXAMPLE.NET>",
         "KLIENTIN@EXAMPLE.NET"),
        ("user ID without angle brackets", "klientin@example.net", "klientin@example.net", "klientin@example.net"),
        ("user ID with two addresses", "klientin@example.net",
         "Klientin <klientin@example.net> <mallory@evil.example>", "klientin@example.net"),
        ("Kelvin sign in From and user ID", "klientin@example.net", "Klientin <\u{212A}lientin@example.net>",
         "\u{212A}lientin@example.net"),
        ("NFD From and user ID, registered NFC", "j\u{FC}rgen@example.net", "J <ju\u{308}rgen@example.net>",
         "ju\u{308}rgen@example.net"),
        ("IDN: U-label From, registered A-label", "klientin@xn--bcher-kva.example",
         "K <klientin@b\u{FC}cher.example>", "klientin@b\u{FC}cher.example"),
    ])
    func lookAlikeAddressIsNeverValidForARegisteredClient(_ name: String, registered: String, userID: String,
                                                           from: String) async throws {
        let harness = try await PipelineHarness()
        let (real, realKey) = try await otherClient(harness, "real", userID: "Klient <\(registered)>")
        let first = try await send(harness, from: registered,
                                   ciphertext: try encrypt(harness, inner("genuine"), signer: realKey, in: real),
                                   headers: try autocrypt(realKey, registered, in: real), envelope: Self.victim)
        guard let realThread = imported(first) else {
            Issue.record("\(name): the real client's mail was not imported: \(first)"); return
        }
        #expect(try await opened(harness, realThread).messages.map(\.verdict) == [.valid], "\(name)")
        let (fake, fakeKey) = try await otherClient(harness, "fake", userID: userID)
        let outcome = try await send(harness, from: from,
                                     ciphertext: try encrypt(harness, inner("forged"), signer: fakeKey, in: fake),
                                     headers: try autocrypt(fakeKey, from, in: fake), envelope: Self.attacker)
        guard let thread = imported(outcome) else { return }  // refused: safe
        #expect(thread != realThread, "\(name): appended to the real client's thread")
        let verdict = try await opened(harness, thread).messages.last?.verdict
        #expect(verdict != .valid, "\(name): the look-alike's message is shown as valid")
        await harness.close()
    }

    // BREAK: a key attached inside one sender's encrypted mail is imported into the gateway's global keyring,
    // whatever its user IDs; a later unsigned message from the address it claims (a new client who offers no key)
    // is bound to that planted key: the victim's words sit in a thread of the attacker's key, replies are
    // encrypted to the attacker, and the attacker's key is now the one registered for the victim's address.
    @Test func keyPlantedByAnotherSenderIsNotUsedForTheVictimsUnsignedMail() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let attackerKey = try harness.client.makeKey(Self.attacker)
        let (planter, plantedKey) = try await otherClient(harness, "planted", userID: "Klientin <\(Self.victim)>")
        let planted = try planter.gpg(["--armor", "--export", plantedKey.hex]).stdout.text
        let withKey = Array("""
            Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
            Guten Tag\r\n--b\r\nContent-Type: application/pgp-keys\r\n\
            Content-Disposition: attachment; filename="key.asc"\r\n\r\n\(planted)\r\n--b--\r\n
            """.utf8)
        let planting = try await send(harness, from: Self.attacker,
                                      ciphertext: try encrypt(harness, withKey, signer: attackerKey),
                                      headers: try autocrypt(attackerKey, Self.attacker, in: harness.client))
        #expect(imported(planting) != nil, "\(planting)")
        // The victim (a new client whose mail program sends no key) writes unsigned.
        let (victim, _) = try await otherClient(harness, "victim", userID: "Klientin <\(Self.victim)>")
        let outcome = try await send(harness, from: Self.victim,
                                     ciphertext: try encrypt(harness, inner(canary), signer: nil, in: victim))
        if let thread = imported(outcome) {
            #expect(try await opened(harness, thread).clientKey?.hex != plantedKey.hex,
                    "the victim's unsigned mail is bound to a key another sender planted")
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// A reply that names a message in the victim's thread (In-Reply-To), signed by the attacker's key with From:
    /// the victim: never appended to the victim's thread.
    @Test func inReplyToIntoTheVictimsThreadNeedsTheVictimsKey() async throws {
        let harness = try await PipelineHarness()
        let victimKey = try harness.client.makeKey(Self.victim)
        guard let thread = imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("genuine"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client)))
        else { Issue.record("the victim's mail was not imported"); return }
        let replyID = "<antwort-\(UUID().uuidString)@example.org>"
        _ = try await harness.store.write { tx in
            try tx.importMessage(NewMessage(direction: .outbound, messageID: replyID, subject: "Re", body: Array("a".utf8),
                                            verdict: .unsigned, receivedAt: Date()), into: .thread(thread))
        }
        let (claiming, claimingKey) = try await otherClient(harness, "claiming", userID: "Klientin <\(Self.victim)>")
        let attackerKey = try harness.client.makeKey(Self.attacker)
        let cases: [(String, [UInt8], String)] = [
            ("key claiming the address", try encrypt(harness, inner("fake-1"), signer: claimingKey, in: claiming),
             try autocrypt(claimingKey, Self.victim, in: claiming)),
            ("attacker's own key", try encrypt(harness, inner("fake-2"), signer: attackerKey),
             try autocrypt(attackerKey, Self.victim, in: harness.client)),
        ]
        for (name, ciphertext, header) in cases {
            let outcome = try await send(harness, from: Self.victim, ciphertext: ciphertext,
                                         headers: header + "In-Reply-To: \(replyID)\nReferences: \(replyID)\n")
            #expect(imported(outcome) != thread, "\(name): appended to the victim's thread")
        }
        #expect(try await opened(harness, thread).messages.count == 2)
        await harness.close()
    }

    // MARK: 3. Legitimate messages that must not be refused

    // FALSE-POSITIVE: the literal-data sniffer reads a first octet 0xA7 as a legacy packet header (tag 9, SED,
    // indeterminate length) and refuses the message as nested encryption. 0xA7 is '§' in ISO-8859-1/-15 and
    // windows-1252: an inline message written in Latin-1 that starts with "§ 35 BtMG" is dropped silently.
    @Test func latin1InlineMessageStartingWithParagraphSignIsImported() async throws {
        let harness = try await PipelineHarness()
        let clientKey = try harness.client.makeKey("latin@example.net")
        let text: [UInt8] = [0xA7] + Array(" 35 BtMG - was bedeutet Therapie statt Strafe f".utf8) + [0xFC]
            + Array("r mich?\r\n".utf8)
        let outcome = try await sendInline(harness, from: "latin@example.net",
                                           ciphertext: try encrypt(harness, text, signer: clientKey),
                                           headers: try autocrypt(clientKey, "latin@example.net", in: harness.client))
        #expect(imported(outcome) != nil, "\(outcome)")
        await harness.close()
    }

    /// Signed and encrypted mail as gpg, rnp (Thunderbird's engine) and sq write it with each compression and with
    /// partial body lengths (large messages): the status-line rule and the packet inspector accept it as valid.
    @Test func legitimateShapesFromThreeImplementationsAreValid() async throws {
        let harness = try await PipelineHarness()
        let sender = "formen@example.net"
        let clientKey = try harness.client.makeKey(sender)
        let header = try autocrypt(clientKey, sender, in: harness.client)
        let rnpHome = harness.root.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: rnpHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import",
                                  try file(harness, "pub.gpg", try harness.client.gpg(["--export"]).stdout)])
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import",
                                  try file(harness, "sec.gpg", try harness.client.gpg(["--export-secret-keys",
                                                                                         clientKey.hex]).stdout)])
        let secret = try file(harness, "client.key", try harness.client.gpg(["--export-secret-keys", clientKey.hex]).stdout)
        let gatewayCert = try file(harness, "gw.pgp", try harness.client.gpg(["--export", harness.gateway.hex]).stdout)
        let large = Array(((0..<12_000).map { _ in UUID().uuidString }.joined(separator: "\r\n") + "\r\n").utf8)
        func rnp(_ extra: [String], _ text: [UInt8]) throws -> [UInt8] {
            try Shell.run("rnp", ["--homedir", rnpHome.path, "--password", "", "--encrypt", "--sign", "-u", clientKey.hex,
                                  "-r", harness.gateway.hex, "--armor"] + extra, stdin: text).stdout
        }
        func sq(_ extra: [String], _ text: [UInt8]) throws -> [UInt8] {
            try Shell.run("sq", ["encrypt", "--recipient-cert", gatewayCert, "--signer-key", secret] + extra, stdin: text,
                          environment: ["SEQUOIA_HOME": harness.root.appendingPathComponent("sq").path]).stdout
        }
        let cases: [(String, [UInt8])] = [
            ("gpg bzip2", try encrypt(harness, inner("bz"), signer: clientKey, extra: ["--compress-algo", "bzip2"])),
            ("gpg zip, large (partial lengths)", try encrypt(harness, inner("large") + large, signer: clientKey,
                                                             extra: ["--compress-algo", "zip"])),
            ("gpg uncompressed, large", try encrypt(harness, inner("large-z0") + large, signer: clientKey,
                                                    extra: ["-z", "0"])),
            ("rnp zlib", try rnp(["--zlib"], inner("rnp-zlib"))),
            ("rnp bzip2, large", try rnp(["--bzip"], inner("rnp-bz") + large)),
            ("rnp uncompressed", try rnp(["-z", "0"], inner("rnp-z0"))),
            ("sq padding (default), small", try sq([], inner("sq-pad"))),
            ("sq uncompressed", try sq(["--compression", "none"], inner("sq-none"))),
        ]
        for (name, ciphertext) in cases {
            let outcome = try await send(harness, from: sender, ciphertext: ciphertext, headers: header)
            guard let thread = imported(outcome) else { Issue.record("\(name): \(outcome)"); continue }
            let verdict = try await opened(harness, thread).messages.last?.verdict
            #expect(verdict == .valid, "\(name): \(String(describing: verdict))")
        }
        await harness.close()
    }

    // FALSE-POSITIVE (engine): sq's default compression ("pad": padded ZIP) on messages over about 100 KB is
    // decrypted by GnuPG 2.2.40 with BADMDC / DECRYPTION_FAILED (or ERROR decryption.early_plaintext) in most runs
    // (`gpg --decrypt` on the command line fails the same way), so a legitimate large sq message is refused as
    // corrupted and dropped without a reply. Not caused by MailBridge's rules; worth a notice to the sender.
    @Test func largeSequoiaMessageWithDefaultPaddingIsImported() async throws {
        let harness = try await PipelineHarness()
        let sender = "gross@example.net"
        let clientKey = try harness.client.makeKey(sender)
        let secret = try file(harness, "client.key", try harness.client.gpg(["--export-secret-keys", clientKey.hex]).stdout)
        let gatewayCert = try file(harness, "gw.pgp", try harness.client.gpg(["--export", harness.gateway.hex]).stdout)
        let large = Array(((0..<12_000).map { _ in UUID().uuidString }.joined(separator: "\r\n") + "\r\n").utf8)
        var refused: [AcceptOutcome] = []
        for index in 0..<4 {
            let ciphertext = try Shell.run(
                "sq", ["encrypt", "--recipient-cert", gatewayCert, "--signer-key", secret], stdin: inner("sq-\(index)") + large,
                environment: ["SEQUOIA_HOME": harness.root.appendingPathComponent("sq").path]).stdout
            let outcome = try await send(harness, from: sender, ciphertext: ciphertext,
                                         headers: try autocrypt(clientKey, sender, in: harness.client))
            if imported(outcome) == nil { refused.append(outcome) }
        }
        // Known engine limitation (documented in docs/security.md): the refusal is GnuPG's BADMDC, which the
        // gateway must honour. Every refusal is `corrupted` (no plaintext, no reply), never an import.
        withKnownIssue("GnuPG 2.2.40 fails sq's padded ZIP on large messages", isIntermittent: true) {
            #expect(refused.isEmpty, "large sq messages refused: \(refused)")
        }
        // GnuPG's failure shows as `corrupted`, or as `nestedEncryption` when its status lines for the broken
        // stream look like a second layer: a refusal either way, never plaintext.
        #expect(refused.allSatisfy { $0 == .rejectedEncrypted(.corrupted) || $0 == .rejectedEncrypted(.nestedEncryption) })
        await harness.close()
    }

    /// A message encrypted with a password (SKESK) and to the gateway's key (PKESK), as `gpg -c -e` writes it:
    /// the gateway never answers a passphrase request, and must still decrypt with its key.
    @Test func passwordAndPublicKeyMessageIsImportedWithTheKey() async throws {
        let harness = try await PipelineHarness()
        let clientKey = try harness.client.makeKey("beides@example.net")
        let ciphertext = try harness.client.gpg(
            ["--passphrase", "geheim-123", "--armor", "--symmetric", "--encrypt", "--recipient", harness.gateway.hex,
             "--sign", "--local-user", clientKey.hex], stdin: inner("beides")).stdout
        let outcome = try await send(harness, from: "beides@example.net", ciphertext: ciphertext,
                                     headers: try autocrypt(clientKey, "beides@example.net", in: harness.client))
        #expect(imported(outcome) != nil, "\(outcome)")
        await harness.close()
    }

    /// Hidden recipients (wildcard key ID 0, `--throw-keyids`): gpg tries every secret key; only the addressed
    /// mailbox's key may open the message.
    @Test func wildcardKeyPacketsOpenOnlyTheAddressedMailbox() async throws {
        let harness = try await PipelineHarness(secondMailbox: true)
        let second = try #require(harness.secondMailbox)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let clientKey = try harness.client.makeKey(Self.victim)
        let header = try autocrypt(clientKey, Self.victim, in: harness.client)
        let toB = try encrypt(harness, inner("fuer B"), signer: clientKey, to: [second.gatewayKey],
                              extra: ["--throw-keyids"])
        guard let inB = imported(try await send(harness, from: Self.victim, ciphertext: toB, headers: header,
                                                to: PipelineHarness.second))
        else { Issue.record("hidden-recipient mail for B not imported"); return }
        #expect(try await harness.store.read { try $0.thread(inB) }?.field == second.field)
        let toA = try encrypt(harness, inner(canary), signer: clientKey, extra: ["--throw-keyids"])
        #expect(try await send(harness, from: Self.victim, ciphertext: toA, headers: header,
                               to: PipelineHarness.second) == .rejectedEncrypted(.notForUs))
        // Hidden for A plus a visible key packet for B, sent to B: B's key (or nothing) opens it, never A's.
        let both = try encrypt(harness, inner("\(canary)-both"), signer: clientKey, to: [second.gatewayKey],
                               extra: ["--hidden-recipient", harness.gateway.hex])
        let outcome = try await send(harness, from: Self.victim, ciphertext: both, headers: header,
                                     to: PipelineHarness.second)
        if let thread = imported(outcome) {
            #expect(try await harness.store.read { try $0.thread(thread) }?.field == second.field)
        }
        try await assertContained(harness, canary)
        await harness.close()
    }
}
