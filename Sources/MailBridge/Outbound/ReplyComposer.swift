// Security: the only way a counsellor's reply leaves MailBridge. The reply text is counsellor-written content
// about a client: it is encrypted to the thread's client key (signed by the mailbox's gateway key) and stored
// sealed in the thread; it never reaches plain mail, logs or errors. If the client key cannot be used, the
// reply is never sent in plain: it is held (sealed, released by `HeldReplyRelease` once a usable key arrives)
// and only the fixed reply-waiting `TemplateMail` goes out. Log lines carry outcome
// codes only.

public import Foundation
public import Logging
import MailValues
public import PGPShim
public import ThreadStore

/// Queues counsellor replies (issue 6): one store transaction (``ReplyStore/commitReply(_:)``, on either engine)
/// stores the outbound message in the thread and enqueues its outbox row.
///
/// ```swift
/// let composer = ReplyComposer(store: store, pgp: pgp, mailboxes: mailboxes, logger: logger)
/// switch try await composer.queueReply(thread: id, text: text, counsellor: nil) {
/// case .queued: …                      // encrypted PGP/MIME reply waits in the outbox
/// case .keyUnusable(let problem, _, _): …  // only the content-free notice was queued
/// }
/// ```
public struct ReplyComposer: Sendable {
    /// Largest reply text accepted.
    public static let maximumTextBytes = 1 << 20

    /// The reply's transactions (``ThreadStoreReplies`` on SQLite, a `PostgresThreads` on PostgreSQL).
    let replies: any ReplyStore
    let pgp: PGPService
    let mailboxes: MailboxDirectory
    let logger: Logger
    let now: @Sendable () -> Date
    /// Where replies and reply-waiting notices are queued; it wakes the outbound queue after each commit, so a
    /// reply reaches the smarthost at once instead of at the queue's next poll.
    let outbox: Outbox

    /// - Parameters:
    ///   - mailboxes: the reloadable mailbox directory; each reply uses the texts in force when it is queued.
    ///   - outbox: the daemon's outbox (it wakes the ``OutboundQueue``), or one that wakes another process's.
    public init(replies: any ReplyStore, pgp: PGPService, mailboxes: MailboxDirectory, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }, outbox: Outbox = Outbox()) {
        self.replies = replies
        self.pgp = pgp
        self.mailboxes = mailboxes
        self.logger = logger
        self.now = now
        self.outbox = outbox
    }

    /// A composer on SQLite.
    public init(store: ThreadStore, pgp: PGPService, mailboxes: MailboxDirectory, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }, outbox: Outbox = Outbox()) {
        self.init(replies: ThreadStoreReplies(store), pgp: pgp, mailboxes: mailboxes, logger: logger, now: now,
                  outbox: outbox)
    }

    /// A composer over fixed mailboxes (tests and one-shot commands).
    public init(store: ThreadStore, pgp: PGPService, mailboxes: [PipelineMailbox], logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }, outbox: Outbox = Outbox()) {
        self.init(store: store, pgp: pgp, mailboxes: MailboxDirectory(mailboxes), logger: logger, now: now,
                  outbox: outbox)
    }

    /// Queues `text` as the reply in `thread`. `counsellor` is an optional display label kept out of the mail
    /// and the logs. `actor` (the web inbox's account) and `channel` (browser, API token or command line) are
    /// written to the audit log with ``AuditEvent/replyQueued`` and the state change, in the same transaction as
    /// the reply.
    public func queueReply(thread: ThreadID, text: String, counsellor: String?,
                           actor: AccountID? = nil, via channel: AuditChannel? = nil) async throws -> ReplyOutcome {
        guard !text.isEmpty, text.utf8.count <= Self.maximumTextBytes else { throw ReplyError(.invalidText) }
        // Only the identity and the newest inbound headers are decrypted, however long the thread.
        let opened = try await replies.replyBasis(thread)
        guard let mailbox = mailboxes.mailbox(forField: opened.summary.field) else {
            throw ReplyError(.noMailbox)
        }
        guard let client = try? EmailAddress(opened.clientAddress.unredactedDescription) else {
            throw ReplyError(.invalidClientAddress)
        }
        let lastInbound = opened.lastInbound
        let time = now()
        let messageID = try OutgoingMessageID(domain: mailbox.address.domain)
        // A Message-ID the pipeline derived for a mail without one (`…@mailbridge.invalid`) threads nothing.
        let inReplyTo = lastInbound.flatMap { ReferencedMessageID($0.messageID) }
            .flatMap { $0.value.hasSuffix("@mailbridge.invalid>") ? nil : $0 }
        let subject = Self.subject(replyingTo: lastInbound?.subject, german: mailbox.german)
        let inner = try ProtectedHeadersPart(
            subject: subject, from: mailbox.address, to: [client], date: time, messageID: messageID, body: text,
            inReplyTo: inReplyTo
        ).render()
        let stored = NewMessage(direction: .outbound, messageID: messageID.value, subject: subject, body: inner,
                                verdict: .notApplicable, receivedAt: time)
        let recipient = try ClientAddress(client)

        // A thread without key (issue 17) has nothing to encrypt to yet: the reply is held.
        let clientKey = opened.clientKey
        let outcome: ReplyOutcome
        // A killed gpg or agent (issue 28) is retried here, so the counsellor's reply is neither refused with an
        // error nor held for a key problem that was the engine's; after the last attempt the error goes to the
        // caller and nothing is stored.
        let (problem, ciphertext) = try await EngineRetry.default.run(onRetry: { attempt, error in
            logger.warning("reply encryption: transient engine failure; retrying",
                           metadata: ["attempt": "\(attempt)", "error": "\(error)"])
        }) { () async throws -> (ReplyOutcome.KeyProblem?, [UInt8]) in
            guard let clientKey else { return (.missing, []) }
            if let problem = try await keyProblem(clientKey) { return (problem, []) }
            do {
                return (nil, try await pgp.encrypt(inner, to: [clientKey], signer: mailbox.gatewayKey))
            } catch let error as PGPError where error.code == .keyUnusable || error.code == .keyNotFound {
                // The key changed between the check and the encryption (e.g. its encryption subkey expired).
                return (.unusable, [])
            }
        }
        if let problem {
            let notice = try mailbox.plainMail(mailbox.replyWaitingTemplate, to: client, kind: .notification,
                                               date: time)
            let item = NewOutboxItem(thread: thread, kind: .notification, recipient: recipient,
                                     payload: notice.bytes, notBefore: time)
            let (row, message) = try await commit(stored, item, thread: thread, actor: actor, channel: channel,
                                                  keyUnusable: problem.storedCode, assign: mailbox.assignOnReply)
            outcome = .keyUnusable(problem, notice: row, stored: message)
        } else {
            // The mailbox's Autocrypt header is made once at start; export only where a caller built none.
            var autocrypt = mailbox.autocrypt
            if autocrypt == nil {
                autocrypt = AutocryptHeader(address: mailbox.address, keyData: try await pgp.exportPublicKey(
                    mailbox.gatewayKey, armored: false, minimal: true))
            }
            let mail = try EncryptedOutgoingMail(PGPMIMEMail(
                from: mailbox.address, to: [client], date: time, messageID: messageID,
                payload: try ArmoredMessage(ciphertext), autocrypt: autocrypt, inReplyTo: inReplyTo))
            let item = NewOutboxItem(thread: thread, kind: .counsellorReply, recipient: recipient,
                                     payload: mail.bytes, notBefore: time)
            let (row, message) = try await commit(stored, item, thread: thread, actor: actor, channel: channel,
                                                  assign: mailbox.assignOnReply)
            outcome = .queued(row, message)
        }
        logger.info("counsellor reply queued", metadata: ["outcome": "\(outcome)"])
        return outcome
    }

    /// Nil when the key can encrypt now; otherwise why not.
    func keyProblem(_ fingerprint: KeyFingerprint) async throws -> ReplyOutcome.KeyProblem? {
        guard let key = try await pgp.key(fingerprint) else { return .missing }
        if key.isUsableForEncryption { return nil }
        if key.isRevoked { return .revoked }
        if key.isExpired { return .expired }
        return .unusable
    }

    private func commit(_ message: NewMessage, _ item: NewOutboxItem, thread: ThreadID, actor: AccountID?,
                        channel: AuditChannel?, keyUnusable: Int? = nil, assign: Bool = false) async throws
        -> (OutboxItemID, StoredMessageID)
    {
        let committed = try await replies.commitReply(ReplyCommit(
            message: message, item: item, thread: thread, actor: actor, channel: channel, keyUnusable: keyUnusable,
            assignToActor: assign))
        outbox.wakeAfterCommit()
        return (committed.outbox, committed.message)
    }

    /// `Re: <last inbound subject>` (inside the encryption only), or a generic subject.
    static func subject(replyingTo subject: String?, german: Bool) -> String {
        guard let subject, !subject.isEmpty, subject != PGPMIMEMail.outerSubject else {
            return german ? "Antwort der Online-Beratung" : "Reply from the online counselling service"
        }
        let lowered = subject.lowercased()
        return lowered.hasPrefix("re:") || lowered.hasPrefix("aw:") ? subject : "Re: \(subject)"
    }
}
