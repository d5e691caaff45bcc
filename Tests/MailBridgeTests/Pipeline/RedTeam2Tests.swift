import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Second red-team pass, against the logic added after the first one: signer's-thread routing with provisional
/// replay fingerprints, the client-key resolver for unsigned mail, canonical addresses. Each test asserts the SAFE
/// behaviour. `// BREAK:` marks a test that fails while the promise is broken, `// FALSE-POSITIVE:` one that fails
/// while a legitimate client's message is dropped; the others show that a defence holds.
@Suite struct RedTeam2Tests: RedTeamHelpers {
    static let pgpcraft = packageRoot.appendingPathComponent("Tests/Tools/pgpcraft.py").path
    static let redteamcraft = packageRoot.appendingPathComponent("Tests/Tools/redteamcraft.py").path
    static let victim = "klientin@example.net"
    static let attacker = "mallory@evil.example"

    // Helpers: ``RedTeamHelpers`` (AttackMailHelpers.swift).

    /// The threads holding a message whose body contains `canary`.
    private func threads(_ harness: PipelineHarness, holding canary: String) async throws -> [OpenedThread] {
        try await threads(harness).filter { thread in
            thread.messages.contains { $0.body.firstRange(of: Array(canary.utf8)) != nil }
        }
    }

    // MARK: 1. Signer's-thread routing and provisional replay entries

    /// An attacker's key whose only user ID claims the victim's (registered) address signs mail sent from the
    /// attacker's own address: it lands in a thread of the attacker's key (never the victim's), never as valid.
    @Test func attackerKeyClaimingTheVictimWrittenFromTheAttackersAddressIsNeverValid() async throws {
        let harness = try await PipelineHarness()
        let victimKey = try harness.client.makeKey(Self.victim)
        guard let victimThread = imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("genuine"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client)))
        else { Issue.record("the victim's mail was not imported"); return }
        let (fake, fakeKey) = try await otherClient(harness, "fake", userIDs: ["Klientin <\(Self.victim)>"])
        let outcome = try await send(harness, from: Self.attacker,
                                     ciphertext: try encrypt(harness, inner("forged"), signer: fakeKey, in: fake),
                                     headers: try autocrypt(fakeKey, Self.attacker, in: fake))
        #expect(imported(outcome) != victimThread, "appended to the victim's thread")
        if let thread = imported(outcome) {
            let opened = try await opened(harness, thread)
            #expect(opened.clientKey?.hex == fakeKey.hex)
            #expect(opened.messages.last?.verdict != .valid)
        }
        #expect(try await opened(harness, victimThread).messages.count == 1)
        await harness.close()
    }

    /// The victim's key claims two addresses; the attacker delivers a captured ciphertext (written from the
    /// first) first, with From set to the second address the key claims (a non-provisional copy). The words stay
    /// with the victim's key and addresses; nothing reaches a thread of the attacker's address.
    @Test func capturedCopyFromTheVictimsOtherAddressStaysWithTheVictim() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let other = "klientin.privat@example.com"
        let (victim, victimKey) = try await otherClient(harness, "victim",
                                                         userIDs: ["Klientin <\(Self.victim)>", "K <\(other)>"])
        guard imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey, in: victim),
            headers: try autocrypt(victimKey, Self.victim, in: victim))) != nil
        else { Issue.record("the victim's first mail was not imported"); return }
        let captured = try encrypt(harness, inner(canary), signer: victimKey, in: victim)
        _ = try await send(harness, from: other, ciphertext: captured, envelope: Self.attacker)
        _ = try await send(harness, from: Self.victim, ciphertext: captured,
                           headers: try autocrypt(victimKey, Self.victim, in: victim))
        let holding = try await threads(harness, holding: canary)
        #expect(!holding.isEmpty, "the victim's words were dropped")
        for thread in holding {
            #expect(thread.clientKey?.hex == victimKey.hex)
            #expect([Self.victim, other].contains(thread.clientAddress.unredactedDescription))
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// A captured copy delivered first from the attacker's address (provisional), then the victim's own copy
    /// with its From written in another case: the victim's copy is still imported, further copies are replays.
    @Test func genuineCopyWithFromInAnotherCaseStillGetsThroughAfterAProvisionalCopy() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        guard let thread = imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client)))
        else { Issue.record("the victim's first mail was not imported"); return }
        let captured = try encrypt(harness, inner(canary), signer: victimKey)
        let stolen = try await send(harness, from: Self.attacker, ciphertext: captured,
                                    headers: try autocrypt(attackerKey, Self.attacker, in: harness.client))
        #expect(stolen == .imported(thread, createdThread: false), "\(stolen)")
        let twice = try await send(harness, from: Self.attacker, ciphertext: captured)
        #expect(twice == .rejectedEncrypted(.replayedCiphertext), "\(twice)")
        let genuine = try await send(harness, from: "KLIENTIN@Example.NET", ciphertext: captured)
        #expect(imported(genuine) != nil, "the victim's own copy was dropped: \(genuine)")
        let again = try await send(harness, from: Self.victim, ciphertext: captured)
        #expect(again == .rejectedEncrypted(.replayedCiphertext), "\(again)")
        try await assertContained(harness, canary)
        await harness.close()
    }

    // BREAK: a client whose key has no e-mail user ID (gpg --quick-gen-key "Name") claims no From address, so
    // every message of it is routed "to its signer's thread": `firstAddress(ofKey:)`, else the key's first e-mail,
    // else — there is none — the From address (Pipeline.swift:185-195). A captured ciphertext of that client,
    // delivered first from the attacker's address, opens a thread of the client's key AT THE ATTACKER'S ADDRESS,
    // and from then on `firstAddress(ofKey:)` sends every genuine message of the client there as well: the
    // client's words sit in a thread whose replies go to the attacker.
    @Test func clientKeyWithoutAnEmailUserIDIsNotRoutedToTheFirstSendersAddress() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let attackerKey = try harness.client.makeKey(Self.attacker)
        let (victim, victimKey) = try await otherClient(harness, "victim", userIDs: ["Klientin Namenlos"])
        _ = attackerKey
        let victimHeader = try autocrypt(victimKey, Self.victim, in: victim)
        // The client's public key is public (keyserver, WKD, its earlier mail): the attacker offers it by Autocrypt
        // for the attacker's own address, so the gateway can check the client's signature.
        let plantedHeader = try autocrypt(victimKey, Self.attacker, in: victim)
        let captured = try encrypt(harness, inner("\(canary)-1"), signer: victimKey, in: victim)
        let stolen = try await send(harness, from: Self.attacker, ciphertext: captured, headers: plantedHeader)
        let genuine = try await send(harness, from: Self.victim, ciphertext: captured, headers: victimHeader)
        let later = try await send(harness, from: Self.victim,
                                   ciphertext: try encrypt(harness, inner("\(canary)-2"), signer: victimKey, in: victim),
                                   headers: victimHeader)
        // Fixed by refusing signatures of keys that claim no address (noClientKey): nobody can tell whose thread
        // such words belong to. The client's own messages are refused too (documented in docs/security.md).
        #expect(imported(stolen) == nil && imported(genuine) == nil && imported(later) == nil,
                "stolen \(stolen), genuine \(genuine), later \(later)")
        for thread in try await threads(harness, holding: canary) {
            #expect(thread.clientAddress.unredactedDescription != Self.attacker,
                    "the client's words are in a thread whose replies go to the attacker")
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    // BREAK: the victim's signed message (as Bob, a co-recipient, decrypts it) gets a second signature by the
    // attacker (a bad one, or a good one reported first) and is re-encrypted to the gateway from the attacker's
    // address. The deciding signature is the attacker's (`DecryptedMessage.signatureDetail`: the first that is not
    // good, else the first), so the message is bound to the attacker's key and address; yet replay fingerprints are
    // recorded for EVERY good signature, the victim's included, and not provisionally
    // (Pipeline.swift:221, :258-272). The victim's genuine copy then arrives and is dropped as a replay: the
    // counsellor never sees it in the victim's thread, and the victim's words sit in the attacker's thread.
    @Test(arguments: ["bad co-signature", "good co-signature first"])
    func attackersCoSignatureDoesNotTurnTheVictimsGenuineCopyIntoAReplay(_ variant: String) async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        guard let victimThread = imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client)))
        else { Issue.record("the victim's first mail was not imported"); return }
        // The victim signs once and encrypts to the gateway and to Bob (Cc): both copies carry this signature.
        let signed = try harness.client.gpg(["--sign", "--local-user", victimKey.hex], stdin: inner(canary)).stdout
        let victimSigned = try file(harness, "victim-signed.gpg", signed)
        let attackerText = variant == "bad co-signature" ? Array("something else\r\n".utf8) : inner(canary)
        let attackerSigned = try file(harness, "attacker-signed.gpg",
                                      try harness.client.gpg(["--sign", "--local-user", attackerKey.hex],
                                                             stdin: attackerText).stdout)
        let cosigned = try redteam(["cosign", victimSigned, attackerSigned, "--attacker-first"])
        let stolen = try await send(harness, from: Self.attacker, ciphertext: try wrap(harness, cosigned),
                                    headers: try autocrypt(attackerKey, Self.attacker, in: harness.client))
        let genuine = try await send(harness, from: Self.victim, ciphertext: try wrap(harness, signed))
        #expect(genuine == .imported(victimThread, createdThread: false),
                "\(variant): the victim's genuine copy was dropped (\(genuine)); the attacker's copy: \(stolen)")
        for thread in try await threads(harness, holding: canary) {
            #expect(thread.clientAddress.unredactedDescription != Self.attacker,
                    "\(variant): the victim's signed words are in the attacker's thread")
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    // MARK: 2. Unsigned mail and the client-key resolver

    // BREAK: unsigned mail is bound to "the key the sender offered for its own address", and the sender is the
    // From line. An attacker writes unsigned, From: a registered client, with an Autocrypt header offering the
    // attacker's key for that address (ClientKeyResolver.swift:41-50 prefers the offered key over the registered
    // one). The message opens a new thread for the client's address bound to the ATTACKER's key, and the
    // counsellor sees only "unsigned" (SignatureBinding.verdict returns .unsigned before the key standing is
    // looked at): no key-change warning, and the counsellor's replies go to the client's address encrypted to the
    // attacker (readable by an attacker on the relay or in the client's mailbox, which the threat model allows).
    @Test func unsignedMailOfferingAnotherKeyForARegisteredAddressIsFlaggedAsAKeyChange() async throws {
        let harness = try await PipelineHarness()
        let victimKey = try harness.client.makeKey(Self.victim)
        guard imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("genuine"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client))) != nil
        else { Issue.record("the victim's mail was not imported"); return }
        let (fake, fakeKey) = try await otherClient(harness, "fake", userIDs: ["Klientin <\(Self.victim)>"])
        let outcome = try await send(harness, from: Self.victim,
                                     ciphertext: try encrypt(harness, inner("bitte antworten"), signer: nil, in: fake),
                                     headers: try autocrypt(fakeKey, Self.victim, in: fake), envelope: Self.attacker)
        if let thread = imported(outcome) {
            let opened = try await opened(harness, thread)
            if opened.clientKey?.hex == fakeKey.hex {
                #expect(opened.messages.last?.verdict == .unconfirmedKeyChange,
                        "a thread for the registered address bound to another key, shown only as unsigned")
            }
        }
        await harness.close()
    }

    // BREAK: an unsigned ciphertext has no author, and its session key is remembered only once imported. An
    // attacker who captures a client's unsigned message on the way (relay or mailbox, in the threat model) and
    // delivers it first from the attacker's own address, offering the attacker's key by Autocrypt, gets the
    // client's words imported into a thread of the attacker's key and address (ClientKeyResolver.swift:41-50):
    // the counsellor answers the attacker, encrypted to the attacker. The client's own copy is then a replay.
    @Test func capturedUnsignedCiphertextDeliveredFirstDoesNotReachTheAttackersThread() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.victim)
        let attackerKey = try harness.client.makeKey(Self.attacker)
        guard imported(try await send(
            harness, from: Self.victim, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.victim, in: harness.client))) != nil
        else { Issue.record("the victim's mail was not imported"); return }
        // Unsigned, encrypted to the gateway and to the client itself (as Thunderbird and Mailvelope do).
        let captured = try encrypt(harness, inner(canary), signer: nil, to: [harness.gateway, victimKey])
        _ = try await send(harness, from: Self.attacker, ciphertext: captured,
                           headers: try autocrypt(attackerKey, Self.attacker, in: harness.client))
        _ = try await send(harness, from: Self.victim, ciphertext: captured)
        let holding = try await threads(harness, holding: canary)
        for thread in holding {
            #expect(thread.clientAddress.unredactedDescription != Self.attacker,
                    "the client's unsigned words are in the attacker's thread")
            #expect(thread.clientKey?.hex != attackerKey.hex, "the client's words are bound to the attacker's key")
        }
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// A key change confirmed in another field does not move this field's registration: unsigned mail without an
    /// offered key goes to the key registered here.
    @Test func unsignedMailUsesTheKeyRegisteredInItsOwnField() async throws {
        let harness = try await PipelineHarness(secondMailbox: true)
        let second = try #require(harness.secondMailbox)
        let oldKey = try harness.client.makeKey(Self.victim)
        let header = try autocrypt(oldKey, Self.victim, in: harness.client)
        guard imported(try await send(harness, from: Self.victim,
                                      ciphertext: try encrypt(harness, inner("a"), signer: oldKey), headers: header))
            != nil
        else { Issue.record("first mail not imported"); return }
        guard imported(try await send(harness, from: Self.victim,
                                      ciphertext: try encrypt(harness, inner("b"), signer: oldKey, to: [second.gatewayKey]),
                                      headers: header, to: PipelineHarness.second)) != nil
        else { Issue.record("second-field mail not imported"); return }
        let (newClient, newKey) = try await otherClient(harness, "new", userIDs: ["Klientin <\(Self.victim)>"])
        guard let changed = imported(try await send(
            harness, from: Self.victim,
            ciphertext: try encrypt(harness, inner("c"), signer: newKey, to: [second.gatewayKey], in: newClient),
            headers: try autocrypt(newKey, Self.victim, in: newClient), to: PipelineHarness.second))
        else { Issue.record("key-change mail not imported"); return }
        try await harness.store.write { try $0.confirmClientKeyChange(of: changed, actor: try AccountID(String(repeating: "a", count: 32))) }
        // Unsigned, encrypted to the gateway and to the key registered in this field (as the client's mail program
        // does when it encrypts to itself).
        let outcome = try await send(harness, from: Self.victim,
                                     ciphertext: try encrypt(harness, inner("d"), signer: nil,
                                                             to: [harness.gateway, oldKey]))
        guard let thread = imported(outcome) else { Issue.record("\(outcome)"); return }
        #expect(try await opened(harness, thread).clientKey?.hex == oldKey.hex)
        await harness.close()
    }

    // MARK: 3. Look-alike addresses the canonical form does not join

    // BREAK ("quoted local part", "full-width domain"): `EmailAddress.canonical` keeps a quoted local part's
    // quotes and maps domain labels by NFC + lower-case only (EmailAddress.swift:44-54), not by the IDNA mapping
    // (UTS #46) that mail software applies. `"klientin"@x` is the same mailbox as klientin@x (RFC 5321 §4.1.2),
    // and a domain in full-width letters is mapped by UTS #46 to the client's ASCII domain; each is a separate
    // registry entry here, so a fresh key claiming the look-alike is "valid" (not a key change to confirm) for an
    // address that looks like, and delivers to, the registered client. The Kelvin-sign domain holds.
    @Test(arguments: [
        ("quoted local part", "\"klientin\"@example.net"),
        ("full-width domain", "klientin@\u{FF45}\u{FF58}\u{FF41}\u{FF4D}\u{FF50}\u{FF4C}\u{FF45}.net"),
        ("Kelvin sign in the domain (holds: lower-cased to k)", "klientin@\u{212A}anzlei.example"),
    ])
    func lookAlikeOfARegisteredAddressIsNeverValid(_ name: String, from: String) async throws {
        let harness = try await PipelineHarness()
        let registered = name.hasPrefix("Kelvin") ? "klientin@kanzlei.example" : Self.victim
        let (real, realKey) = try await otherClient(harness, "real", userIDs: ["Klient <\(registered)>"])
        guard let realThread = imported(try await send(
            harness, from: registered, ciphertext: try encrypt(harness, inner("genuine"), signer: realKey, in: real),
            headers: try autocrypt(realKey, registered, in: real)))
        else { Issue.record("\(name): the real client's mail was not imported"); return }
        let (fake, fakeKey) = try await otherClient(harness, "fake", userIDs: ["Klient <\(from)>"])
        let outcome = try await send(harness, from: from,
                                     ciphertext: try encrypt(harness, inner("forged"), signer: fakeKey, in: fake),
                                     headers: try autocrypt(fakeKey, from, in: fake), envelope: Self.attacker)
        guard let thread = imported(outcome) else { return }  // refused: safe
        #expect(thread != realThread, "\(name): appended to the real client's thread")
        let verdict = try await opened(harness, thread).messages.last?.verdict
        #expect(verdict != .valid, "\(name): the look-alike's message is shown as valid")
        await harness.close()
    }

    // MARK: 4. Legitimate mail that must not be dropped

    /// A client whose key carries two addresses writes from the second one, and from an alias its key does not
    /// claim: both messages are imported (the alias one in the key's thread, not as valid).
    @Test func clientWithSeveralAddressesAndAnAliasIsImported() async throws {
        let harness = try await PipelineHarness()
        let other = "klientin.privat@example.com"
        let alias = "k.alias@example.net"
        let (client, key) = try await otherClient(harness, "client", userIDs: ["Klientin <\(Self.victim)>", "K <\(other)>"])
        let header = try autocrypt(key, Self.victim, in: client)
        guard let thread = imported(try await send(harness, from: Self.victim,
                                                   ciphertext: try encrypt(harness, inner("a"), signer: key, in: client),
                                                   headers: header))
        else { Issue.record("first mail not imported"); return }
        let second = try await send(harness, from: other,
                                    ciphertext: try encrypt(harness, inner("b"), signer: key, in: client))
        guard let secondThread = imported(second) else { Issue.record("\(second)"); return }
        #expect(try await opened(harness, secondThread).messages.last?.verdict == .valid)
        for index in 0..<2 {
            let fromAlias = try await send(harness, from: alias,
                                           ciphertext: try encrypt(harness, inner("c\(index)"), signer: key, in: client))
            #expect(fromAlias == .imported(thread, createdThread: false), "alias \(index): \(fromAlias)")
        }
        await harness.close()
    }

    // FALSE-POSITIVE: one message to two counselling addresses (Cc, encrypted to both mailboxes' keys) that
    // arrives as two deliveries (two SMTP transactions, e.g. different domains or a re-sent copy per recipient)
    // is imported into the first mailbox's field only: the second delivery decrypts to the same session key and
    // signature, which the replay table (global over all mailboxes) already holds, so the second field's
    // counsellors never see it and nobody is told (WriteTransaction+Import.swift:187-193).
    @Test func oneMessageToTwoMailboxesReachesBothFields() async throws {
        let harness = try await PipelineHarness(secondMailbox: true)
        let second = try #require(harness.secondMailbox)
        let key = try harness.client.makeKey(Self.victim)
        let header = try autocrypt(key, Self.victim, in: harness.client)
        let both = try encrypt(harness, inner("an beide"), signer: key, to: [harness.gateway, second.gatewayKey])
        let first = try await send(harness, from: Self.victim, ciphertext: both, headers: header)
        let other = try await send(harness, from: Self.victim, ciphertext: both, headers: header,
                                   to: PipelineHarness.second)
        #expect(imported(first) != nil, "\(first)")
        #expect(imported(other) != nil, "the copy for the second mailbox was dropped: \(other)")
        await harness.close()
    }
}
