import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 17: encrypted mail without a key the gateway knows is kept in a thread without key (never in a known
/// client's thread), the sender is asked for their key at most once per period, replies written meanwhile are
/// held, and the thread gets its key from a later message signed by the awaited key. Real gpg, real store.
@Suite struct NoKeyThreadTests: RedTeamHelpers {
    static let client = "klient@example.net"

    private func composer(_ harness: PipelineHarness) -> ReplyComposer {
        ReplyComposer(store: harness.store, pgp: harness.pgp, mailboxes: [harness.mailbox],
                      logger: harness.logs.logger("reply"))
    }

    /// The plain notices queued for `address` (before any reply is written: the key requests).
    private func keyRequests(_ harness: PipelineHarness, to address: String = client) async throws -> [OutboxItem] {
        try await harness.outbox().filter { $0.recipient.unredactedDescription == address && $0.kind == .notification }
    }

    private func teamNotices(_ harness: PipelineHarness) async throws -> [OutboxItem] {
        try await harness.outbox().filter { $0.recipient.unredactedDescription == PipelineHarness.team }
    }

    @Test func unknownKeyMailGetsAThreadWithoutKeyAndOneKeyRequestPerPeriod() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let key = try harness.client.makeKey(Self.client)
        // Signed and encrypted as the gpg command line, Mailvelope or GpgOL do: no Autocrypt, no attached key.
        let first = try await send(harness, from: Self.client,
                                   ciphertext: try encrypt(harness, inner("\(canary)-1"), signer: key))
        let thread = try #require(imported(first), "the message was not imported: \(first)")
        #expect(first == .imported(thread, createdThread: true))

        let opened = try await opened(harness, thread)
        #expect(opened.clientKey == nil)
        #expect(try await harness.store.read { try $0.isAwaitingKey(thread) })
        #expect(opened.messages.map(\.verdict) == [.missingKey])
        #expect(opened.messages.first?.body.text.contains("\(canary)-1") == true)

        // The team is notified as for any new message; the client is asked for their key.
        #expect(try await teamNotices(harness).count == 1)
        let requests = try await keyRequests(harness)
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.thread == thread && request.kind == .notification)
        #expect(request.payload.text.contains("https://beratung.example/login"))
        #expect(request.payload.text.contains("Auto-Submitted: auto-generated"))
        let audit = try await harness.store.read { try $0.auditEntries() }
        #expect(audit.filter { $0.event == .clientKeyRequested }.count == 1)

        // A second message within the period: same thread, the team is notified again, no second key request.
        let second = try await send(harness, from: Self.client,
                                    ciphertext: try encrypt(harness, inner("\(canary)-2"), signer: key))
        #expect(second == .imported(thread, createdThread: false))
        #expect(try await keyRequests(harness).count == 1)
        #expect(try await teamNotices(harness).count == 2)

        // A reply written now is held: only the reply-waiting notice goes out.
        let outcome = try await composer(harness).queueReply(thread: thread, text: "Antwort \(canary)-reply",
                                                             counsellor: nil)
        guard case .keyUnusable(.missing, _, let reply) = outcome else {
            Issue.record("expected a held reply, got \(outcome)")
            return
        }
        #expect(try await harness.store.read { try $0.heldReplyIDs(in: thread) } == [reply])
        #expect(try await harness.outbox().allSatisfy { $0.kind != .counsellorReply })
        try await assertContained(harness, canary)
        await harness.close()
    }

    @Test func theAwaitedKeyGivesTheThreadItsKeyAndReleasesHeldReplies() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let key = try harness.client.makeKey(Self.client)
        let thread = try #require(imported(try await send(
            harness, from: Self.client, ciphertext: try encrypt(harness, inner("\(canary)-1"), signer: key))))
        _ = try await composer(harness).queueReply(thread: thread, text: "Erste \(canary)-reply-1", counsellor: nil)
        _ = try await composer(harness).queueReply(thread: thread, text: "Zweite \(canary)-reply-2", counsellor: nil)
        #expect(try await harness.store.read { try $0.heldReplyIDs(in: thread) }.count == 2)

        // The client sends their key (Autocrypt) with a message signed by it: the same thread gets the key.
        let withKey = try await send(harness, from: Self.client,
                                     ciphertext: try encrypt(harness, inner("\(canary)-3"), signer: key),
                                     headers: try autocrypt(key, Self.client, in: harness.client))
        #expect(withKey == .imported(thread, createdThread: false))
        let opened = try await opened(harness, thread)
        #expect(opened.clientKey?.hex == key.hex)
        #expect(opened.messages.filter { $0.direction == .inbound }.map(\.verdict) == [.missingKey, .valid])
        #expect(opened.heldReplies.isEmpty)

        // Both held replies went out encrypted to the key, in order; gpg opens them.
        let replies = try await harness.outbox().filter { $0.kind == .counsellorReply }
        #expect(replies.count == 2)
        let texts = try replies.map { try harness.client.gpg(["--decrypt"], stdin: try armoredBlock($0.payload.text)) }
            .map(\.stdout.text)
        #expect(texts.count == 2 && texts[0].contains("\(canary)-reply-1") && texts[1].contains("\(canary)-reply-2"))
        let audit = try await harness.store.read { try $0.auditEntries() }
        #expect(audit.filter { $0.event == .heldReplyReleased }.count == 2)
        #expect(audit.contains { $0.event == .threadKeyReceived && $0.thread == thread })
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// The attack of issue 17's first point: From is an existing client, the key is unknown (or there is none).
    /// The words never reach the client's thread, nor does a key sent later make them the client's.
    @Test func unknownKeyFromAnExistingClientNeverReachesTheirThread() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.client)
        let victimThread = try #require(imported(try await send(
            harness, from: Self.client, ciphertext: try encrypt(harness, inner("\(canary)-victim"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.client, in: harness.client))))

        // Signed by the attacker's key (claiming the victim's address), no key attached.
        let (attacker, attackerKey) = try await otherClient(harness, "attacker", userID: "Klient <\(Self.client)>")
        let signed = try await send(harness, from: Self.client, ciphertext: try encrypt(
            harness, inner("\(canary)-forged"), signer: attackerKey, in: attacker))
        let forgedThread = try #require(imported(signed))
        #expect(forgedThread != victimThread)
        // Unsigned, encrypted only to the gateway, From the victim.
        let unsigned = try await send(harness, from: Self.client, ciphertext: try encrypt(
            harness, inner("\(canary)-unsigned"), signer: nil, in: attacker))
        let unsignedThread = try #require(imported(unsigned))
        #expect(![victimThread, forgedThread].contains(unsignedThread))

        var victim = try await opened(harness, victimThread)
        #expect(victim.messages.count == 1 && victim.messages[0].verdict == .valid)
        #expect(try await opened(harness, forgedThread).messages.map(\.verdict) == [.missingKey])
        #expect(try await opened(harness, unsignedThread).messages.map(\.verdict) == [.unsigned])

        // The attacker now sends their key: their thread gets it, as a key change nobody confirmed; the victim's
        // key stays the registered one and the victim's next message is still valid in the victim's thread.
        let keyed = try await send(harness, from: Self.client, ciphertext: try encrypt(
            harness, inner("\(canary)-keyed"), signer: attackerKey, in: attacker),
            headers: try autocrypt(attackerKey, Self.client, in: attacker))
        #expect(keyed == .imported(forgedThread, createdThread: false))
        let forged = try await opened(harness, forgedThread)
        #expect(forged.clientKey?.hex == attackerKey.hex)
        #expect(forged.messages.map(\.verdict) == [.missingKey, .unconfirmedKeyChange])
        let again = try await send(harness, from: Self.client, ciphertext: try encrypt(
            harness, inner("\(canary)-victim-2"), signer: victimKey))
        #expect(again == .imported(victimThread, createdThread: false))
        victim = try await opened(harness, victimThread)
        #expect(victim.messages.map(\.verdict) == [.valid, .valid])
        #expect(victim.messages.allSatisfy { !$0.body.text.contains("forged") && !$0.body.text.contains("unsigned") })
        // The victim's address got at most one key request.
        #expect(try await keyRequests(harness).count <= 1)
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// RedTeamTests' captured-ciphertext attack, without the Autocrypt header that makes the copy contradict
    /// itself: the victim's signed message, delivered first from the attacker's address, lands at most in a thread
    /// without key that can never get one (the awaited key does not claim the attacker's address), so no reply
    /// ever reaches the attacker; and the victim's own copy is still imported into the victim's thread.
    @Test func capturedSignedCiphertextWithoutKeyNeverAnswersTheAttacker() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let mallory = "mallory@evil.example"
        let victimKey = try harness.client.makeKey(Self.client)
        let (attacker, attackerKey) = try await otherClient(harness, "mallory", userID: "Mallory <\(mallory)>")
        let captured = try encrypt(harness, inner(canary), signer: victimKey)
        let stolen = try await send(harness, from: mallory, ciphertext: captured)
        let stolenThread = try #require(imported(stolen))
        let reply = try await composer(harness).queueReply(thread: stolenThread, text: "Antwort \(canary)-reply",
                                                           counsellor: nil)
        guard case .keyUnusable(.missing, _, _) = reply else { Issue.record("not held: \(reply)"); return }
        // The attacker's own key, sent with a message of their own, does not open that thread.
        let own = try await send(harness, from: mallory, ciphertext: try encrypt(
            harness, inner("mallory"), signer: attackerKey, in: attacker),
            headers: try autocrypt(attackerKey, mallory, in: attacker))
        #expect(imported(own) != stolenThread)
        #expect(try await opened(harness, stolenThread).clientKey == nil)

        let genuine = try await send(harness, from: Self.client, ciphertext: captured,
                                     headers: try autocrypt(victimKey, Self.client, in: harness.client))
        let victimThread = try #require(imported(genuine), "the victim's own copy was dropped: \(genuine)")
        #expect(victimThread != stolenThread)
        #expect(try await opened(harness, victimThread).messages.map(\.verdict) == [.valid])
        #expect(try await harness.outbox().allSatisfy { $0.kind != .counsellorReply })
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// RedTeam2Tests' captured unsigned ciphertext, without the Autocrypt header: encrypted to a key we know that
    /// does not claim the sender's address, it is someone else's words and is refused as before; the client's
    /// own copy is imported into their thread.
    @Test func capturedUnsignedCiphertextOfAKnownClientIsRefusedFromAnotherAddress() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let victimKey = try harness.client.makeKey(Self.client)
        let victimThread = try #require(imported(try await send(
            harness, from: Self.client, ciphertext: try encrypt(harness, inner("first"), signer: victimKey),
            headers: try autocrypt(victimKey, Self.client, in: harness.client))))
        let captured = try encrypt(harness, inner(canary), signer: nil, to: [harness.gateway, victimKey])
        #expect(try await send(harness, from: "mallory@evil.example", ciphertext: captured)
                == .rejectedEncrypted(.noClientKey))
        #expect(try await send(harness, from: Self.client, ciphertext: captured)
                == .imported(victimThread, createdThread: false))
        #expect(try await threads(harness).count == 1)
        try await assertContained(harness, canary)
        await harness.close()
    }

    /// The armored OpenPGP block of a PGP/MIME mail.
    func armoredBlock(_ mail: String) throws -> [UInt8] {
        let start = try #require(mail.range(of: "-----BEGIN PGP MESSAGE-----"))
        let end = try #require(mail.range(of: "-----END PGP MESSAGE-----"))
        return Array(String(mail[start.lowerBound..<end.upperBound]).replacingOccurrences(of: "\r\n", with: "\n").utf8)
    }
}
