// Security: encrypted mail for which the gateway has no client key (issue 17): signed by a key it does not have
// (no Autocrypt header, no attached key), or unsigned and not encrypted to any key registered for the address.
// Such mail is decrypted text of unknown authorship. It is kept, because dropping it loses a client's words, but
// it goes only into a thread *without key* of its own, identified by the counselling field, the From address and
// the signer the signature names (or "unsigned"): never into a thread of a known key, whatever the From line says,
// so nobody can add text to another client's thread by writing in their name. Its verdict is "unknown key" or
// "unsigned", never valid. The thread gets a key only from a later message whose good signature is by exactly the
// awaited key and whose key claims the From address (`WriteTransaction.giveAwaitedKey`); from then on the usual
// key-standing rules apply (a key that arrives for an address registered with another key is a key change a
// counsellor confirms). The only mail to the sender is the fixed key-request notice (no client content), at most
// once per address per period.

import Foundation
import Logging
import MailValues
import PGPShim
import ThreadStore

extension Pipeline {
    /// Imports `decrypted` into the sender's thread without key (a new one if there is none), notifies the team
    /// as for any new message and, at most once per `keyRequestPeriod` per From address, asks the sender for
    /// their public key. Signatures other than "unknown key" and "unsigned" are still rejected (`noClientKey`):
    /// a bad signature is not a missing key.
    func importWithoutKey(_ decrypted: DecryptedMessage, inline: Bool, _ payload: [UInt8], _ message: InboundMessage,
                          _ headers: MIMEHeaders, _ inner: InnerMessage, _ sender: SenderIdentity,
                          _ mailbox: PipelineMailbox, offered: [KeyFingerprint]) async throws -> AcceptOutcome {
        guard try await mayBeWithoutKey(decrypted, sender: sender, offered: offered) else {
            return try await reject(.noClientKey)
        }
        let signer: AwaitedSignerID?
        let verdict: SignatureVerdictCode
        switch decrypted.signature {
        case .unknownKey(let id):
            // An ID that is neither a fingerprint nor a key ID cannot name the key that would open the thread.
            guard let id = try? AwaitedSignerID(id) else { return try await reject(.noClientKey) }
            (signer, verdict) = (id, .missingKey)
        case .unsigned:
            // Unsigned text that a known client key could read too (encrypted to itself) is that client's words,
            // sent from an address that key does not claim: not mail without key, and never into this sender's
            // thread.
            if try await encryptedToARegisteredClientKey(decrypted, field: mailbox.field) {
                return try await reject(.noClientKey)
            }
            (signer, verdict) = (nil, .unsigned)
        default:
            return try await reject(.noClientKey)
        }
        // Says why, without content or identities: the AgentKillTests fault (a first contact's key lost to a
        // killed gpg) showed here as a thread without key and nothing in the log.
        logger.notice("encrypted message kept without a client key", metadata: [
            "queue": "\(message.queueID)", "signature": "\(verdict)", "offered-keys": "\(offered.count)",
        ])
        let address = sender.address
        let client = AwaitingKeyClient(
            field: mailbox.field, address: try ClientAddress(address),
            signer: signer)
        let fallbackHash = PayloadHash.sha256(of: decrypted.plaintext.bytes)
        let plaintext = decrypted.plaintext.bytes
        let newMessage = NewMessage(
            direction: .inbound, messageID: inner.messageID(fallbackHash: fallbackHash), subject: inner.subject,
            body: inline ? InlinePlaintext.utf8(plaintext, armored: payload) : plaintext,
            attachments: inner.attachments, verdict: verdict, receivedAt: message.envelope.receivedAt,
            replayFingerprints: replayFingerprints(decrypted),
            // Nobody vouches for the From address of mail without key: it may be a client's ciphertext sent on
            // first by someone else. Its fingerprints are provisional, so the author's own copy, once it comes
            // with a key that claims its From address, is still imported into the author's own thread.
            replayFingerprintsAreProvisional: true)
        let time = now()
        let notice = NoticeFactory(mailbox: mailbox, time: time, inbox: configuration.notices.inboxLink,
                                   outbox: outbox)
        let request = try keyRequest(message, headers, sender, mailbox, time: time)
        let hmac = threads.keyRequestHMAC(canonicalAddress: address.canonical)
        // One transaction (``InboundStore/importAwaitingKey(_:)``): the import, its notice and the key request.
        let done = try await threads.importAwaitingKey(AwaitingKeyMessageImport(
            message: try fitToStore(newMessage, message.queueID), client: client, notice: notice.plan,
            keyRequest: request.map {
                KeyRequestPlan(item: $0, key: hmac, time: time, period: configuration.keyRequestPeriod)
            }))
        if done.queued { outbox.wakeAfterCommit() }
        switch done.outcome {
        case .stored(let thread, _, let created): return .imported(thread, createdThread: created)
        case .duplicate(let thread, _): return .duplicate(thread)
        case .replayedCiphertext: return .rejectedEncrypted(.replayedCiphertext)
        }
    }

    /// Whether the message may be kept as mail without key. Not when it contradicts itself: it offers a key for
    /// its From address (Autocrypt or attached) yet is not signed by it, or, unsigned, not encrypted to it (a
    /// client's program that sends its key signs with it, or encrypts to itself); nor when it was encrypted to a
    /// key we know that does not claim the From address (someone else's words, delivered from another address).
    private func mayBeWithoutKey(_ decrypted: DecryptedMessage, sender: SenderIdentity,
                                 offered: [KeyFingerprint]) async throws -> Bool {
        let from = sender.address.canonical
        for fingerprint in offered {
            // Just imported: a key gone missing is the engine failing, not the key (issue 28).
            if try await pgp.existingKey(fingerprint).addresses.contains(where: { $0.canonical == from }) {
                return false
            }
        }
        var gatewayKeyIDs = Set<String>()
        for mailbox in configuration.mailboxes {
            for key in mailbox.ownKeys { gatewayKeyIDs.formUnion(try await pgp.key(key)?.keyIDs ?? []) }
        }
        for keyID in decrypted.recipientKeyIDs.prefix(16) where !gatewayKeyIDs.contains(keyID.uppercased()) {
            for info in try await pgp.keys(withKeyID: keyID.uppercased())
            where !info.addresses.contains(where: { $0.canonical == from }) {
                return false
            }
        }
        return true
    }

    /// The fixed key-request notice to the From address (where replies to the thread go), or nil where RFC 3834
    /// says not to answer automatically (null or own envelope sender, `Auto-Submitted`, list mail, …) or the From
    /// address is one of ours.
    private func keyRequest(_ message: InboundMessage, _ headers: MIMEHeaders, _ sender: SenderIdentity,
                            _ mailbox: PipelineMailbox, time: Date) throws -> NewOutboxItem? {
        let own = configuration.mailboxes.map(\.address)
        guard case .send = AutoReplyPolicy.decide(envelopeSender: message.envelope.reversePath.address,
                                                  headers: headers, ownAddresses: own),
            !own.contains(where: { $0.canonical == sender.address.canonical })
        else { return nil }
        let mail = try mailbox.plainMail(mailbox.keyRequestTemplate, to: sender.address, kind: .notification,
                                         date: time)
        return NewOutboxItem(thread: nil, kind: .notification,
                             recipient: try ClientAddress(sender.address),
                             payload: mail.bytes, notBefore: time)
    }

    /// Whether a signature may check out once the keys a message carried are imported: one by a key we lacked, or
    /// by a key whose copy here has expired (the message may carry the refreshed key).
    static func mayVerifyAfterImport(_ signature: SignatureVerdict) -> Bool {
        switch signature {
        case .unknownKey, .goodButKeyNotCurrent(_, .keyExpired): true
        default: false
        }
    }

    /// Whether `signature` says "no public key" for a key ID that one of the keys just `imported` holds, as the
    /// keyring lists it now: the engine contradicting itself (a killed or racing run), not a verdict.
    static func namesImportedKey(_ signature: SignatureVerdict, _ imported: [KeyFingerprint],
                                 _ pgp: PGPService) async throws -> Bool {
        guard case .unknownKey(let id) = signature else { return false }
        let wanted = id.uppercased()
        for fingerprint in imported {
            let key = try await pgp.existingKey(fingerprint)
            // A key ID is the low 64 bits of a v4 fingerprint and the high 64 bits of a v6 one (RFC 9580 §5.5.4).
            let named = key.keyIDs.contains { id in
                wanted == id || (wanted.count == 40 && wanted.hasSuffix(id)) || (wanted.count == 64 && wanted.hasPrefix(id))
            }
            if key.fingerprint.hex == wanted || named { return true }
        }
        return false
    }

    /// Releases the replies held in `thread` once a valid message shows its key is usable again (a refreshed or
    /// newly received key). A failure leaves them held (the next valid message tries again) and does not undo
    /// the import.
    func releaseHeldReplies(_ thread: ThreadID, _ mailbox: PipelineMailbox) async {
        guard let heldReplies else { return }
        do {
            try await heldReplies(thread, mailbox)
        } catch {
            logger.error("held replies not released", metadata: ["thread": "\(thread)",
                                                                 "error": "\(type(of: error))"])
        }
    }
}

extension Pipeline {
    /// Whether a recipient of `decrypted` is a client key that already has a thread in `field` (a key that only
    /// arrived with this message, e.g. by Autocrypt, does not count).
    func encryptedToARegisteredClientKey(_ decrypted: DecryptedMessage, field: CounsellingField) async throws -> Bool {
        let gatewayKeys = Set(configuration.mailboxes.flatMap(\.ownKeys))
        for keyID in Set(decrypted.recipientKeyIDs.map { $0.uppercased() }) where keyID.utf8.count == 16 {
            for holder in (try? await pgp.keys(withKeyID: keyID)) ?? [] where !gatewayKeys.contains(holder.fingerprint) {
                let registered = try await threads.firstAddress(ofKey: holder.fingerprint, field: field)
                if registered != nil { return true }
            }
        }
        return false
    }
}
