import Foundation
import Logging
@testable import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Third red-team pass: key material shared between certificates, captured ciphertexts inside other MIME shapes,
/// and signatures that are only text inside the encryption. Each test asserts the SAFE behaviour. `// BREAK:` marks
/// a test that failed while the promise was broken; the others show that a defence holds.
@Suite struct RedTeam3Tests: RedTeamHelpers {
    static let victim = "klientin@example.net"
    static let attacker = "mallory@evil.example"

    // Helpers: ``RedTeamHelpers`` (AttackMailHelpers.swift).

    /// The threads holding a message whose body contains `text`.
    private func threads(_ harness: PipelineHarness, holding text: String) async throws -> [OpenedThread] {
        try await threads(harness).filter { thread in
            thread.messages.contains { $0.body.firstRange(of: Array(text.utf8)) != nil }
        }
    }

    /// A certificate of the attacker's binding the victim's public encryption subkey (see
    /// ``GnuPGClient/certificateSharingEncryptionSubkey(of:for:ownSubkey:)``).
    private func certificateSharingTheEncryptionSubkey(of victimKey: KeyFingerprint, for address: String,
                                                       in client: GnuPGClient) throws -> KeyFingerprint {
        try client.certificateSharingEncryptionSubkey(of: victimKey, for: address)
    }

    // MARK: 1. Key material shared between certificates

    // BREAK: unsigned mail is bound to a client key only if it was also encrypted to that key, judged by the key
    // IDs of its key packets (Pipeline.swift, "Unsigned text has no author"). A key ID names key material, not a
    // certificate: the attacker binds the victim's public encryption subkey into a certificate of their own (an
    // encryption subkey needs no back-signature), offers it by Autocrypt for the attacker's address (or registers
    // it first with a signed message), and delivers a captured unsigned ciphertext of the victim (encrypted to the
    // gateway and to the victim itself, as Thunderbird does). The key packet for the victim's subkey "proved" the
    // attacker's key could read it: the victim's words were imported into a thread of the attacker's key at the
    // attacker's address, and the counsellor's replies went to the attacker.
    @Test(arguments: [false, true])
    func certificateBindingTheVictimsEncryptionSubkeyDoesNotCaptureUnsignedWords(attackerRegisteredFirst: Bool)
        async throws
    {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        guard imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client))) != nil
        else { Issue.record("the victim's mail was not imported"); return }
        let captured = try encrypt(harness, inner(canary), signer: nil, to: [harness.gateway, victimKey])

        let attackerKey = try certificateSharingTheEncryptionSubkey(of: victimKey, for: Self.attacker,
                                                                    in: harness.client)
        let offer = try autocrypt(attackerKey, Self.attacker, in: harness.client)
        if attackerRegisteredFirst {
            let own = try await send(harness, from: Self.attacker,
                                     ciphertext: try encrypt(harness, inner("hallo"), signer: attackerKey),
                                     headers: offer)
            #expect(imported(own) != nil, "the attacker's own signed mail was not imported: \(own)")
        }
        let stolen = try await send(harness, from: Self.attacker, ciphertext: captured,
                                    headers: attackerRegisteredFirst ? "" : offer)
        for thread in try await threads(harness, holding: canary) {
            #expect(thread.clientAddress.unredactedDescription != Self.attacker,
                    "the victim's unsigned words are in a thread whose replies go to the attacker (\(stolen))")
            #expect(thread.clientKey?.hex != attackerKey.hex, "the victim's words are bound to the attacker's key")
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// The attacker's own unsigned text, encrypted to the subkey the attacker's certificate shares with the victim
    /// and sent From the victim with that certificate offered: never in a thread of the attacker's key, never
    /// valid.
    @Test func sharedSubkeyDoesNotLetTheAttackersUnsignedTextIntoItsOwnThreadAsTheVictims() async throws {
        let harness = try await PipelineHarness()
        let victimKey = try harness.client.makeKey(Self.victim)
        guard let victimThread = imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client)))
        else { Issue.record("the victim's mail was not imported"); return }
        let attackerKey = try certificateSharingTheEncryptionSubkey(of: victimKey, for: Self.attacker,
                                                                    in: harness.client)
        let forged = "FORGED\(UUID().uuidString.prefix(8))"
        let outcome = try await send(harness, from: Self.victim,
                                     ciphertext: try encrypt(harness, inner(forged), signer: nil,
                                                             to: [harness.gateway, attackerKey]),
                                     headers: try autocrypt(attackerKey, Self.victim, in: harness.client),
                                     envelope: Self.attacker)
        for thread in try await threads(harness, holding: forged) {
            #expect(thread.clientKey?.hex != attackerKey.hex, "bound to the attacker's key: \(outcome)")
            for message in thread.messages where message.body.firstRange(of: Array(forged.utf8)) != nil {
                #expect(message.verdict != .valid, "unsigned text shown as valid")
            }
        }
        #expect(try await opened(harness, victimThread).messages.first?.verdict == .valid)
        await harness.close()
    }

    // BREAK: a certificate binding the GATEWAY's public encryption subkey, offered by Autocrypt in any mail that
    // decrypts, is listed by gpg as a secret key (`sec#`, our subkey as `ssb`), and PGPShim took it for one of
    // ours: every message with more than one key packet (a client encrypting to itself too) lost the gateway's
    // own key packet before gpg ran and was refused as not for us; and a counselling address added later, which
    // the certificate claims, took it as its gateway key (GatewayKeys.ensure) and would publish it, with the
    // attacker's own newer encryption subkey, to clients. Fixed in PGPShim (`GPGKey.hasPrimarySecret`).
    @Test func certificateBindingTheGatewaysSubkeyNeitherBlocksMailNorBecomesAGatewayKey() async throws {
        let harness = try await PipelineHarness()
        let newAddress = "neu@example.org"
        let craft = try GnuPGClient(home: harness.root.appendingPathComponent("craft"))
        defer { craft.kill() }
        let secret = try Shell.run("gpg", ["--homedir", harness.root.appendingPathComponent("gw").path, "--batch",
                                           "--pinentry-mode", "loopback", "--passphrase", "",
                                           "--export-secret-keys", harness.gateway.hex]).stdout
        try craft.gpg(["--import"], stdin: secret)
        let planted = try craft.certificateSharingEncryptionSubkey(of: harness.gateway, for: newAddress,
                                                                   ownSubkey: true)
        _ = try await send(harness, from: newAddress, ciphertext: try encrypt(harness, inner("hallo"), signer: nil),
                           headers: try autocrypt(planted, newAddress, in: craft), envelope: Self.attacker)
        #expect(try await harness.pgp.key(planted) != nil, "the planted certificate was not imported")

        // The client encrypts to the gateway and to itself, as Thunderbird does: still imported, valid.
        let victimKey = try harness.client.makeKey(Self.victim)
        let outcome = try await send(harness, from: Self.victim,
                                     ciphertext: try encrypt(harness, inner("genuine"), signer: victimKey,
                                                             to: [harness.gateway, victimKey]),
                                     headers: try autocrypt(victimKey, Self.victim, in: harness.client))
        guard let thread = imported(outcome) else {
            Issue.record("the client's mail was refused after the certificate was planted: \(outcome)")
            await harness.close()
            return
        }
        #expect(try await opened(harness, thread).messages.last?.verdict == .valid)

        // The operator adds the counselling address the certificate claims.
        let keys = try await GatewayKeys.ensure(for: [try EmailAddress(newAddress)], pgp: harness.pgp,
                                                logger: Logger(label: "redteam3"))
        let chosen = try #require(keys[try EmailAddress(newAddress).canonical])
        #expect(chosen != planted, "the attacker's certificate became the new mailbox's gateway key")
        #expect(try await harness.pgp.key(chosen, secret: true) != nil)
        await harness.close()
    }

    // MARK: 2. A captured ciphertext inside another MIME shape

    /// The victim's whole PGP/MIME mail forwarded as an attachment (message/rfc822, inside multipart/mixed or as
    /// the whole body) from the attacker's address: never decrypted into any thread, the canary nowhere.
    @Test(arguments: ["attached", "whole body"])
    func capturedMailForwardedAsMessageRFC822IsNotImported(_ shape: String) async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let armor = String(decoding: try encrypt(harness, inner(canary), signer: victimKey), as: UTF8.self)
        let captured = "From: \(Self.victim)\nTo: \(PipelineHarness.counselling)\nSubject: ...\n"
            + "Message-ID: <\(UUID().uuidString)@example.net>\nMIME-Version: 1.0\n"
            + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\n\n"
            + "--b0\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
            + "--b0\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n\(armor)\n--b0--\n"
        let head = "From: \(Self.attacker)\nTo: \(PipelineHarness.counselling)\nSubject: Fwd\n"
            + "Message-ID: <\(UUID().uuidString)@evil.example>\nMIME-Version: 1.0\n"
        let raw = shape == "attached"
            ? head + "Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: text/plain\n\nsiehe Anhang\n"
                + "--o\nContent-Type: message/rfc822\n\n\(captured)\n--o--\n"
            : head + "Content-Type: message/rfc822\n\n\(captured)"
        let outcome = try await harness.pipeline.accept(try harness.spool(raw, from: Self.attacker))
        #expect(imported(outcome) == nil, "\(shape): a forwarded ciphertext was imported: \(outcome)")
        #expect(try await threads(harness, holding: canary).isEmpty, "\(shape): decrypted into a thread")
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// The victim's inline-PGP block sent by the attacker beside a clear text part of the attacker's (in one
    /// multipart/mixed, or with the attacker's text before the block in the same part, in the victim's name): the
    /// attacker's clear text never appears in a thread as part of the victim's signed message.
    @Test(arguments: ["separate part", "text before the block"])
    func clearTextBesideACapturedInlineBlockIsNeverTheVictims(_ shape: String) async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let forged = "FORGED\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let armor = String(decoding: try encrypt(harness, Array("Hallo, hier ist \(canary).\n".utf8),
                                                 signer: victimKey), as: UTF8.self)
        let head = "From: \(Self.victim)\nTo: \(PipelineHarness.counselling)\nSubject: hi\n"
            + "Message-ID: <\(UUID().uuidString)@example.net>\nMIME-Version: 1.0\n"
        let raw = shape == "separate part"
            ? head + "Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: text/plain\n\n"
                + "Bitte ruf mich an: \(forged)\n--o\nContent-Type: text/plain\n\n\(armor)\n--o--\n"
            : head + "Content-Type: text/plain\n\nBitte ruf mich an: \(forged)\n\n\(armor)"
        let outcome = try await harness.pipeline.accept(try harness.spool(raw, from: Self.attacker))
        #expect(try await threads(harness, holding: forged).isEmpty, "\(shape): the clear text is in a thread")
        for thread in try await threads(harness, holding: canary) {
            #expect(thread.clientKey?.hex == victimKey.hex, "\(shape): \(outcome)")
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    // MARK: 3. Signatures that are only text inside the encryption

    /// The victim's signed-only PGP/MIME entity (multipart/signed with a detached signature that verifies, e.g.
    /// from a mail the victim sent to a list) encrypted, unsigned, by the attacker to the gateway and to the
    /// victim's public key, From the victim: the inner signature is message text, not a verdict. Never valid.
    @Test func detachedSignatureInsideTheEncryptionIsNotAVerdict() async throws {
        let harness = try await PipelineHarness()
        let victimKey = try harness.client.makeKey(Self.victim)
        guard imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client))) != nil
        else { Issue.record("the victim's mail was not imported"); return }
        let marker = "SIGNED\(UUID().uuidString.prefix(8))"
        let part = "Content-Type: text/plain; charset=utf-8\r\n\r\nIch kündige hiermit. \(marker)"
        let signature = try harness.client.gpg(["--armor", "--detach-sign", "--local-user", victimKey.hex],
                                               stdin: Array(part.utf8)).stdout
        let signatureFile = try file(harness, "detached.asc", signature)
        let partFile = try file(harness, "part.txt", Array(part.utf8))
        // The detached signature really verifies: a gateway that trusted it would say "valid".
        try harness.client.gpg(["--verify", signatureFile, partFile])
        let entity = "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; "
            + "boundary=\"s1\"\r\n\r\n--s1\r\n\(part)\r\n--s1\r\n"
            + "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n"
            + String(decoding: signature, as: UTF8.self) + "\r\n--s1--\r\n"
        let outcome = try await send(harness, from: Self.victim,
                                     ciphertext: try encrypt(harness, Array(entity.utf8), signer: nil,
                                                             to: [harness.gateway, victimKey]),
                                     envelope: Self.attacker)
        for thread in try await threads(harness, holding: marker) {
            for message in thread.messages where message.body.firstRange(of: Array(marker.utf8)) != nil {
                #expect(message.verdict != .valid, "an inner detached signature was shown as valid: \(outcome)")
            }
        }
        await harness.close()
    }
}
