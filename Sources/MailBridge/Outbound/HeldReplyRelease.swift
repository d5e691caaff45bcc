// Security: held replies are counsellor text about a client that could not be encrypted when written. They leave
// only here, and only encrypted to a key that can encrypt now and that is the key of the thread they are sent
// for (a thread that got its key from a message signed by that key, or whose key change a counsellor confirmed).
// The stored inner part (protected headers and text) is encrypted as it is; nothing is rebuilt from plain text,
// and nothing of it reaches logs or errors.

public import Foundation
public import Logging
import MailValues
public import PGPShim
public import ThreadStore

/// Encrypts the held replies of a thread to a usable client key and queues them, oldest first (issue 17).
///
/// ```swift
/// let released = try await HeldReplyRelease(replies: ThreadStoreReplies(store), pgp: pgp, outbox: outbox,
///                                           logger: logger)
///     .release(heldIn: oldThread, toClientOf: newThread, mailbox: mailbox)
/// ```
public struct HeldReplyRelease: Sendable {
    /// The held replies' transactions, on either engine.
    let replies: any ReplyStore
    let pgp: PGPService
    /// Woken after a release committed (the store moves each released reply into the outbox itself).
    let outbox: Outbox
    let logger: Logger
    let now: @Sendable () -> Date

    public init(replies: any ReplyStore, pgp: PGPService, outbox: Outbox, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.replies = replies
        self.pgp = pgp
        self.outbox = outbox
        self.logger = logger
        self.now = now
    }

    /// Releases every reply held in `source` to the key and address of `target` (the same thread, or the thread
    /// of a confirmed key change). Returns how many were queued: none if `target` has no key, the key cannot
    /// encrypt now, or nothing is held. Each reply is queued with its hold ended in one transaction.
    @discardableResult
    public func release(heldIn source: ThreadID, toClientOf target: ThreadID, mailbox: PipelineMailbox) async throws
        -> Int
    {
        let held = try await replies.heldReplies(in: source)
        guard !held.isEmpty else { return 0 }
        let basis = try await replies.replyBasis(target)
        guard let threadKey = basis.clientKey, let client = try? EmailAddress(basis.clientAddress.unredactedDescription)
        else {
            logger.info("held replies stay held", metadata: ["thread": "\(target)", "reason": "no-key"])
            return 0
        }
        let key = threadKey
        guard let info = try await pgp.key(key), info.isUsableForEncryption else {
            logger.info("held replies stay held", metadata: ["thread": "\(target)", "reason": "key-unusable"])
            return 0
        }
        var autocrypt = mailbox.autocrypt
        if autocrypt == nil {
            autocrypt = AutocryptHeader(address: mailbox.address, keyData: try await pgp.exportPublicKey(
                mailbox.gatewayKey, armored: false, minimal: true))
        }
        let recipient = try ClientAddress(client)
        var items: [(message: StoredMessageID, item: NewOutboxItem)] = []
        for reply in held {
            let ciphertext: [UInt8]
            do {
                ciphertext = try await pgp.encrypt(reply.body, to: [key], signer: mailbox.gatewayKey)
            } catch let error as PGPError where error.code == .keyUnusable || error.code == .keyNotFound {
                // The key changed meanwhile: everything stays held.
                logger.info("held replies stay held", metadata: ["thread": "\(target)", "reason": "key-unusable"])
                return 0
            }
            let messageID = try OutgoingMessageID(reusing: reply.messageID)
                ?? OutgoingMessageID(domain: mailbox.address.domain)
            let mail = try EncryptedOutgoingMail(PGPMIMEMail(
                from: mailbox.address, to: [client], date: now(), messageID: messageID,
                payload: try ArmoredMessage(ciphertext), autocrypt: autocrypt))
            items.append((reply.message, NewOutboxItem(thread: source, kind: .counsellorReply, recipient: recipient,
                                                       payload: mail.bytes, notBefore: now())))
        }
        let queued = try await replies.releaseHeldReplies(items)
        if queued > 0 { outbox.wakeAfterCommit() }
        logger.info("held replies released", metadata: ["thread": "\(target)", "count": "\(queued)"])
        return queued
    }

    /// After a counsellor confirmed that `thread`'s key belongs to the client of the earlier threads of the same
    /// address: releases the replies held in those threads (and in `thread`) to its key. Returns how many.
    @discardableResult
    public func releaseAfterKeyChange(of thread: ThreadID, mailbox: PipelineMailbox) async throws -> Int {
        let sources = try await replies.heldReplyThreads(sameClientAs: thread)
        var released = 0
        for source in sources + [thread] {
            released += try await release(heldIn: source, toClientOf: thread, mailbox: mailbox)
        }
        return released
    }
}

extension OutgoingMessageID {
    /// The Message-ID a held reply was written with (we generated it: `<uuid@our-domain>`), so the client's answer
    /// still names a message of its thread; nil if the stored value is not of that shape.
    init?(reusing stored: String) {
        guard stored.utf8.count <= 255, stored.hasPrefix("<"), stored.hasSuffix(">"),
            stored.dropFirst().dropLast().allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "<" && $0 != ">" }),
            stored.filter({ $0 == "@" }).count == 1
        else { return nil }
        value = stored
    }
}
