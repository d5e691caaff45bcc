import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 17's scenario: a client key expires between the client's message and the counsellor's reply. The reply
/// is held (sealed, never plain), the client gets the fixed notice, and once a usable key arrives (the same key
/// with a new expiry, signed by itself; or a new key whose change a counsellor confirms) the held reply goes out
/// encrypted to it and opens with gpg, sqop and rnp. A canary scan covers every queued mail, log line and the raw
/// database file.
@Suite struct HeldReplyTests: RedTeamHelpers {
    static let client = "klient@example.net"

    private func composer(_ harness: PipelineHarness) -> ReplyComposer {
        ReplyComposer(store: harness.store, pgp: harness.pgp, mailboxes: [harness.mailbox],
                      logger: harness.logs.logger("reply"))
    }

    /// A thread of a client key that expires `lifetime` seconds after it is made, and the reply written after it
    /// expired (held).
    private func expiredKeyThread(_ harness: PipelineHarness, canary: String, lifetime: Int = 6) async throws
        -> (ThreadID, KeyFingerprint, StoredMessageID)
    {
        let made = Date()
        let key = try harness.client.makeKey(Self.client, expiry: "seconds=\(lifetime)")
        let outcome = try await send(harness, from: Self.client,
                                     ciphertext: try encrypt(harness, inner("\(canary)-in"), signer: key),
                                     headers: try autocrypt(key, Self.client, in: harness.client))
        let thread = try #require(imported(outcome), "not imported: \(outcome)")
        #expect(try await opened(harness, thread).messages.map(\.verdict) == [.valid])
        let wait = Double(lifetime) + 1.5 - Date().timeIntervalSince(made)
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }

        let reply = try await composer(harness).queueReply(thread: thread, text: "Liebe Klientin, \(canary)-reply",
                                                           counsellor: nil)
        guard case .keyUnusable(.expired, _, let message) = reply else {
            throw HeldReplyFailure("expected a held reply for an expired key, got \(reply)")
        }
        // Held: stored sealed, nothing encrypted queued; the client gets the fixed notice only.
        #expect(try await harness.store.read { try $0.heldReplyIDs(in: thread) } == [message])
        let items = try await harness.outbox()
        #expect(!items.contains { $0.kind == .counsellorReply })
        let notices = items.filter { $0.thread == thread && $0.kind == .notification }
        #expect(notices.count == 1)
        let notice = try #require(notices.first)
        #expect(notice.recipient.unredactedDescription == Self.client)
        #expect(notice.payload.text.contains("https://beratung.example/login"))
        #expect(!notice.payload.text.contains("BEGIN PGP") && !notice.payload.text.contains("Liebe Klientin"))
        // The counsellor side shows it as held (inbox view and API model read the same list).
        let view = try await harness.store.read { try $0.openInboxThread(thread) }
        #expect(view.heldReplies == [message])
        let audit = try await harness.store.read { try $0.auditEntries() }
        #expect(audit.contains { $0.event == .replyHeld && $0.itemID == message.unredactedDescription })
        return (thread, key, message)
    }

    @Test func heldReplyGoesOutWhenTheClientSendsTheirKeyWithANewExpiry() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let (thread, key, _) = try await expiredKeyThread(harness, canary: canary)

        // The client extends the key (new self-signatures by the same key) and writes again with it attached.
        // gpg's "*" skips expired subkeys: the encryption subkey is named by its fingerprint.
        let listing = try harness.client.gpg(["--with-colons", "--with-subkey-fingerprints", "--list-keys", key.hex])
        let fingerprints = listing.stdout.text.split(separator: "\n").filter { $0.hasPrefix("fpr:") }
            .map { String($0.split(separator: ":", omittingEmptySubsequences: false)[9]) }
        let subkey = try #require(fingerprints.last(where: { $0 != key.hex }))
        try harness.client.gpg(["--quick-set-expire", key.hex, "1y"])
        try harness.client.gpg(["--quick-set-expire", key.hex, "1y", subkey])
        let outcome = try await send(harness, from: Self.client,
                                     ciphertext: try encrypt(harness, inner("\(canary)-again"), signer: key),
                                     headers: try autocrypt(key, Self.client, in: harness.client))
        #expect(outcome == .imported(thread, createdThread: false))
        #expect(try await opened(harness, thread).messages.filter { $0.direction == .inbound }.map(\.verdict)
                == [.valid, .valid])
        #expect(try await harness.store.read { try $0.heldReplyIDs(in: thread) }.isEmpty)

        let replies = try await harness.outbox().filter { $0.kind == .counsellorReply }
        #expect(replies.count == 1)
        let reply = try #require(replies.first)
        #expect(reply.thread == thread && reply.recipient.unredactedDescription == Self.client)
        try await expectOpensEverywhere(harness, reply, client: harness.client, key: key, canary: canary)
        try await assertContained(harness, canary)
        await harness.close()
    }

    @Test func heldReplyGoesOutToANewKeyOnceACounsellorConfirmsTheChange() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let (thread, _, _) = try await expiredKeyThread(harness, canary: canary)

        // A new key for the same address: a new thread, a key change nobody confirmed yet. Nothing is released.
        let (device, newKey) = try await otherClient(harness, "new-device", userID: "Klient <\(Self.client)>")
        let outcome = try await send(harness, from: Self.client, ciphertext: try encrypt(
            harness, inner("\(canary)-new"), signer: newKey, in: device),
            headers: try autocrypt(newKey, Self.client, in: device))
        let changed = try #require(imported(outcome))
        #expect(changed != thread)
        #expect(try await opened(harness, changed).messages.map(\.verdict) == [.unconfirmedKeyChange])
        #expect(try await harness.outbox().allSatisfy { $0.kind != .counsellorReply })

        // A counsellor confirms the change (as the inbox does): the held reply goes out encrypted to the new key.
        try await harness.store.write {
            try $0.confirmClientKeyChange(of: changed, actor: try AccountID(String(repeating: "a", count: 32)))
        }
        #expect(try await composer(harness).releaseHeldReplies(afterKeyChangeOf: changed) == 1)
        #expect(try await composer(harness).releaseHeldReplies(afterKeyChangeOf: changed) == 0)
        #expect(try await harness.store.read { try $0.heldReplyIDs(in: thread) }.isEmpty)
        let replies = try await harness.outbox().filter { $0.kind == .counsellorReply }
        #expect(replies.count == 1)
        let reply = try #require(replies.first)
        #expect(reply.recipient.unredactedDescription == Self.client)
        try await expectOpensEverywhere(harness, reply, client: device, key: newKey, canary: canary)
        try await assertContained(harness, canary)
        await harness.close()
    }

    @Test func heldRepliesDieWithTheirThread() async throws {
        let harness = try await PipelineHarness()
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let (thread, _, message) = try await expiredKeyThread(harness, canary: canary, lifetime: 3)
        #expect(try await harness.store.read { try $0.heldReplyIDs(in: thread) } == [message])
        _ = try await harness.store.applyRetention(
            policy: RetentionPolicy(defaultDays: 1), now: Date().addingTimeInterval(3 * 86_400))
        #expect(try await harness.store.read { try $0.thread(thread) } == nil)
        #expect(try await harness.store.read { db in try db.heldReplyIDs(in: thread) }.isEmpty)
        await harness.close()
    }

    @Test func keyProblemsAreStoredAsTheHeldReplyProblemOfTheSameCode() {
        for problem in ReplyOutcome.KeyProblem.allCases {
            #expect(HeldReplyProblem(rawValue: problem.storedCode).map { "\($0)" } == problem.rawValue)
        }
    }

    /// The released reply is PGP/MIME, decrypts with gpg, sqop and rnp (the client's secret `key`) to the held
    /// text, and is signed by the gateway key.
    private func expectOpensEverywhere(_ harness: PipelineHarness, _ reply: OutboxItem, client: GnuPGClient,
                                       key: KeyFingerprint, canary: String) async throws {
        let mail = reply.payload.text
        #expect(mail.contains("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\""))
        #expect(!mail.contains(canary))
        let start = try #require(mail.range(of: "-----BEGIN PGP MESSAGE-----"))
        let end = try #require(mail.range(of: "-----END PGP MESSAGE-----"))
        let armored = Array(String(mail[start.lowerBound..<end.upperBound])
            .replacingOccurrences(of: "\r\n", with: "\n").utf8)

        let gpg = try client.gpg(["--status-fd", "2", "--decrypt"], stdin: armored)
        #expect(gpg.stdout.text.contains("\(canary)-reply"))
        #expect(gpg.stderr.contains("[GNUPG:] VALIDSIG") && gpg.stderr.contains(harness.gateway.hex))

        let folder = harness.root.appendingPathComponent("open-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let secret = folder.appendingPathComponent("client.key")
        let gatewayCert = folder.appendingPathComponent("gateway.cert")
        try Data(try client.gpg(["--export-secret-keys", key.hex]).stdout).write(to: secret)
        try Data(try await harness.pgp.exportPublicKey(harness.gateway)).write(to: gatewayCert)
        let verifications = folder.appendingPathComponent("verifications")
        let sqop = try Shell.run("sqop", ["decrypt", "--verify-with=\(gatewayCert.path)",
                                          "--verifications-out=\(verifications.path)", secret.path], stdin: armored)
        #expect(sqop.stdout.text.contains("\(canary)-reply"))
        #expect(try String(contentsOf: verifications, encoding: .utf8).contains(harness.gateway.hex))

        let rnpHome = folder.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: rnpHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let publics = folder.appendingPathComponent("publics.gpg")
        try Data(try client.gpg(["--export"]).stdout).write(to: publics)
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", publics.path])
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", secret.path])
        let rnp = try Shell.run("rnp", ["--homedir", rnpHome.path, "--password", "", "--decrypt"], stdin: armored)
        #expect(rnp.stdout.text.contains("\(canary)-reply"))
        #expect(rnp.stderr.contains("Good signature") || rnp.stderr.contains("Valid signature"), "rnp: \(rnp.stderr)")
    }
}

struct HeldReplyFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
