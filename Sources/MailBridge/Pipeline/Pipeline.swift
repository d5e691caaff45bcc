// Security: the pipeline is where untrusted mail meets key material. It reads spooled mail (attacker-controlled
// bytes), parses it with size and depth limits, decrypts only whole-body encrypted shapes through PGPShim, and
// writes decrypted content only into ThreadStore (sealed). The only plain mail it can produce is a
// `TemplateMail` (fixed text, platform link, opaque IDs); no type lets decrypted text reach it. Log lines carry
// queue IDs and outcome codes only.

public import Foundation
public import Logging
import MailValues
import NIOConcurrencyHelpers
import NIOPosix
public import PGPShim
public import ThreadStore

/// The single funnel for inbound mail (SMTP and IMAP): `accept(_:)` decides what happens to one spooled
/// message and commits the result (thread message, redirect reply, notices, audit) in one store transaction.
///
/// ```swift
/// let outcome = try await pipeline.accept(message)   // throws only for retryable failures (store, engine)
/// ```
public final class Pipeline: Sendable {
    public struct Configuration: Sendable {
        public var mailboxes: [PipelineMailbox]
        public var mimeLimits: MIMELimits
        /// At most one redirect per sender per this many seconds (RFC 3834 §2 "SHOULD NOT … more than once").
        public var redirectPeriod: TimeInterval
        /// A good signature made longer than this before the message arrived is shown as an old signature, not
        /// as valid (`[import] signature-max-age-days`, default 30).
        public var maximumSignatureAge: TimeInterval
        /// At most one "please send your public key" notice per client address per this many seconds
        /// (`[autoreply] key-request-period-seconds`, default 7 days; issue 17).
        public var keyRequestPeriod: TimeInterval
        /// At most one receipt per thread per this many seconds (`[receipt] period-hours`); nil: no receipts
        /// (`[receipt] enabled = false`; also the default here, so that a pipeline built in code sends none).
        public var receiptPeriod: TimeInterval?
        /// Where counsellor notices link to (`[notices]`; see ``NoticeFactory``).
        public var notices: NoticeSettings

        public init(mailboxes: [PipelineMailbox], mimeLimits: MIMELimits = .default,
                    redirectPeriod: TimeInterval = 7 * 24 * 3600, maximumSignatureAge: TimeInterval = 30 * 86_400,
                    keyRequestPeriod: TimeInterval = 7 * 86_400, receiptPeriod: TimeInterval? = nil,
                    notices: NoticeSettings = NoticeSettings()) {
            self.notices = notices
            self.mailboxes = mailboxes
            self.mimeLimits = mimeLimits
            self.redirectPeriod = redirectPeriod
            self.maximumSignatureAge = maximumSignatureAge
            self.keyRequestPeriod = keyRequestPeriod
            self.receiptPeriod = receiptPeriod
        }
    }

    /// Every transaction the pipeline runs (``InboundStore``: SQLite's `ThreadStoreImport` or PostgreSQL's).
    let threads: any InboundStore
    /// Releases the replies held in a thread once a valid message shows its key is usable (``HeldReplyRelease``);
    /// nil: they stay held (tests of the pipeline alone).
    let heldReplies: HeldReplies?
    /// Shares the client keys this node imported with the other nodes (``SharedPublicKeys/publish(_:)``, issue
    /// 21); nil on one node. Runs before the message's commit: a failure fails the message, which is tried again
    /// (the import then reports the key again), so no node answers a client whose key another node lacks for good.
    let publishKeys: PublishKeys?
    public typealias PublishKeys = @Sendable ([KeyFingerprint]) async throws -> Void
    /// The organisations' keys in force (issue 29): mail for a field whose organisation's key is missing stays
    /// in the spool, untouched, until the key is back (``OrganisationKeyUnavailable``).
    let organisationKeys: OrganisationKeys
    let pgp: PGPService
    private let current: NIOLockedValueBox<Configuration>
    /// The mailboxes in force, shared with the reply composer and the outbox (one reloadable directory).
    public let directory: MailboxDirectory
    /// The configuration in force; ``update(_:)`` replaces it (SIGHUP) for messages processed afterwards.
    public var configuration: Configuration {
        var configuration = current.withLockedValue { $0 }
        configuration.mailboxes = directory.all
        return configuration
    }
    let logger: Logger
    let metrics: GatewayMetrics?
    let now: @Sendable () -> Date

    /// Retries of transient engine failures (issue 28).
    let engineRetry: EngineRetry
    /// Where every mail the pipeline causes is queued (redirects, notices, receipts, key requests).
    let outbox: Outbox

    /// Releases the replies held in a thread (first) to the client of a mailbox (second).
    public typealias HeldReplies = @Sendable (ThreadID, PipelineMailbox) async throws -> Void

    /// - Parameter directory: the mailbox directory to share with other readers; by default one made from
    ///   `configuration.mailboxes`.
    public convenience init(store: ThreadStore, pgp: PGPService, configuration: Configuration,
                            directory: MailboxDirectory? = nil, logger: Logger, metrics: GatewayMetrics? = nil,
                            now: @escaping @Sendable () -> Date = { Date() }, engineRetry: EngineRetry = .default,
                            outbox: Outbox = Outbox()) {
        self.init(threads: ThreadStoreImport(store), pgp: pgp, configuration: configuration, directory: directory,
                  logger: logger, metrics: metrics, now: now, engineRetry: engineRetry, outbox: outbox,
                  heldReplies: Pipeline.releasingHeldReplies(ThreadStoreReplies(store), pgp: pgp, outbox: outbox,
                                                             logger: logger, now: now))
    }

    /// Releases the replies held in a thread to its own client (a valid message arrived; issue 17), through
    /// `replies` on either engine.
    public static func releasingHeldReplies(_ replies: any ReplyStore, pgp: PGPService, outbox: Outbox,
                                            logger: Logger, now: @escaping @Sendable () -> Date = { Date() })
        -> HeldReplies
    {
        { thread, mailbox in
            try await HeldReplyRelease(replies: replies, pgp: pgp, outbox: outbox, logger: logger, now: now)
                .release(heldIn: thread, toClientOf: thread, mailbox: mailbox)
        }
    }

    /// A pipeline on any engine (``InboundStore``). Without `heldReplies`, replies held for want of a usable key
    /// stay held when a valid message arrives.
    public init(threads: any InboundStore, pgp: PGPService, configuration: Configuration,
                directory: MailboxDirectory? = nil, logger: Logger, metrics: GatewayMetrics? = nil,
                now: @escaping @Sendable () -> Date = { Date() }, engineRetry: EngineRetry = .default,
                outbox: Outbox = Outbox(), heldReplies: HeldReplies? = nil, publishKeys: PublishKeys? = nil,
                organisationKeys: OrganisationKeys = OrganisationKeys()) {
        self.publishKeys = publishKeys
        self.organisationKeys = organisationKeys
        self.engineRetry = engineRetry
        self.outbox = outbox
        self.threads = threads
        self.heldReplies = heldReplies
        self.pgp = pgp
        self.current = NIOLockedValueBox(configuration)
        self.directory = directory ?? MailboxDirectory(configuration.mailboxes)
        if directory != nil { self.directory.replace(configuration.mailboxes) }
        self.logger = logger
        self.metrics = metrics
        self.now = now
    }

    /// Replaces the mailboxes, limits and redirect period (a configuration reload). Each read of the
    /// configuration is atomic; a message being processed while the reload happens may use old and new values.
    public func update(_ configuration: Configuration) {
        current.withLockedValue { $0 = configuration }
        directory.replace(configuration.mailboxes)
    }

    /// Processes one message. Returns what happened; throws only when the attempt should be retried later
    /// (the spool keeps the message), e.g. the store or GnuPG is unavailable.
    public func accept(_ message: InboundMessage) async throws -> AcceptOutcome {
        // A transient engine failure is retried here, then thrown on (the message stays in the spool).
        let outcome = try await engineRetry.run(onRetry: { attempt, error in
            self.logger.warning("transient engine failure; retrying",
                                metadata: ["queue": "\(message.queueID)", "attempt": "\(attempt)", "error": "\(error)"])
        }) { try await processRefusingUnstorable(message) }
        // Issue 28: a rejected encrypted message is kept sealed for a while instead of being dropped.
        if case .rejectedEncrypted(let reason) = outcome { try await keepRejected(message, reason) }
        // With organisations every series names one (its ID, or "-" for mail to none of their mailboxes).
        let organisation = organisationKeys.organisations.isEmpty ? nil
            : mailbox(for: message.envelope.recipients).flatMap { organisationKeys.owner(of: $0.field) }?.rawValue ?? "-"
        metrics?.processed(outcome, received: message.envelope.receivedAt, now: now(), organisation: organisation)
        logger.info("inbound processed", metadata: ["queue": "\(message.queueID)", "outcome": "\(outcome)"])
        return outcome
    }

    func process(_ message: InboundMessage) async throws -> AcceptOutcome {
        let recipient = mailbox(for: message.envelope.recipients)
        // Issue 29: nothing of an organisation whose key is missing is read or processed, plain mail included
        // (its auto-reply would tell that mail got through); the runner tries again, with growing pauses.
        if let field = recipient?.field, organisationKeys.isClosed(field) { throw OrganisationKeyUnavailable() }
        let read = try await readAndClassify(message)
        guard let mailbox = recipient else {
            try await record(.inboundEncryptedRejected, reason: .noMailbox)
            return .rejectedEncrypted(.noMailbox)
        }
        switch read {
        case .deliveryReport:
            // RFC 3464 delivery reports coming back for mail we sent: recorded, never answered, content dropped.
            try await record(.inboundRedirectSuppressed, code: 3)
            return .deliveryReport
        case .unparseable:
            // Unparseable mail cannot be checked against RFC 3834 (no reliable headers): no reply, no content kept.
            try await record(.inboundRedirectSuppressed, code: 100)
            return .redirectSuppressed("unparseable")
        case .parsed(let headers, .plain):
            return try await redirect(message, headers, mailbox)
        case .parsed(let headers, .quarantine(let reason)):
            // Mixed or partly encrypted mail is never decrypted into a thread; it is treated as plain.
            logger.notice("inbound not cleanly encrypted", metadata: ["queue": "\(message.queueID)",
                                                                      "reason": "\(reason)"])
            return try await redirect(message, headers, mailbox)
        case .pgpMIME(let headers, let file):
            return try await importEncrypted(.file(file), inline: false, message, headers, mailbox)
        case .parsed(let headers, .pgpMIME(let payload)):
            return try await importEncrypted(.memory(payload), inline: false, message, headers, mailbox)
        case .parsed(let headers, .inlinePGP(let payload)):
            return try await importEncrypted(.memory(payload), inline: true, message, headers, mailbox)
        }
    }

    /// What a spooled message is, read from the spool, parsed and classified. Only the outer headers and the
    /// encrypted payload leave this function: the raw message and the rest of its parse are released here, before
    /// anything is decrypted (issue 23: they are as large as the message).
    private enum SpooledMessage {
        case deliveryReport
        case unparseable
        case parsed(MIMEHeaders, MessageShape)
        /// PGP/MIME, its encrypted part decoded into a private file (``EncryptedPayload``): the armored payload
        /// is released here too, before gpg runs.
        case pgpMIME(MIMEHeaders, CiphertextFile)
    }

    private func readAndClassify(_ message: InboundMessage) async throws -> SpooledMessage {
        let bytes = try await readSpool(message)
        let reversePath = message.envelope.reversePath
        if case .deliveryStatus = BounceRecognizer.classify(rawMessage: bytes, reversePath: reversePath) {
            return .deliveryReport
        }
        guard let parsed = try? MIMEParser(limits: configuration.mimeLimits).parse(bytes) else { return .unparseable }
        let shape = MessageClassifier.classify(parsed)
        if case .pgpMIME(let payload) = shape, payload.count >= EncryptedPayload.fileThreshold {
            let file = try await EncryptedPayload.file(decoding: payload, beside: message, pgp: pgp)
            return .pgpMIME(parsed.headers, file)
        }
        return .parsed(parsed.headers, shape)
    }

    // MARK: Plain mail → redirect only

    private func redirect(_ message: InboundMessage, _ headers: MIMEHeaders,
                          _ mailbox: PipelineMailbox) async throws -> AcceptOutcome {
        let sender = message.envelope.reversePath.address
        let decision = AutoReplyPolicy.decide(envelopeSender: sender, headers: headers,
                                              ownAddresses: configuration.mailboxes.map(\.address))
        guard case .send = decision, let sender else {
            try await record(.inboundRedirectSuppressed, code: 1)
            return .redirectSuppressed("\(decision)")
        }
        let time = now()
        // RFC 3834 §4: the reply goes to the envelope sender (Return-Path), with MAIL FROM:<> (set by the queue
        // for `.redirectReply`).
        let mail = try mailbox.plainMail(mailbox.redirectTemplate, to: sender, kind: .redirect, date: time)
        let recipient = try ClientAddress(sender)
        let hmac = threads.senderHMAC(canonicalAddress: sender.canonical)
        let queued = try await threads.queueRedirect(
            NewOutboxItem(thread: nil, kind: .redirectReply, recipient: recipient, payload: mail.bytes,
                          notBefore: time),
            sender: hmac, now: time, period: configuration.redirectPeriod)
        if queued { outbox.wakeAfterCommit() }
        return queued ? .redirected : .redirectSuppressed("rate-limited")
    }

    // MARK: Encrypted mail → thread

    private func importEncrypted(_ payload: EncryptedPayload, inline: Bool, _ message: InboundMessage,
                                 _ headers: MIMEHeaders, _ firstMailbox: PipelineMailbox) async throws -> AcceptOutcome {
        guard let sender = try? SenderIdentity(headers: headers) else {
            return try await reject(.invalidSender)
        }
        // Only the keys of the mailboxes this message was addressed to may decrypt it: a message encrypted to
        // another mailbox's key is not for us (issue 16: one mailbox's key never opens another's mail).
        let addressed = mailboxes(for: message.envelope.recipients)
        // Issue 20: "the mailbox's key" is its current key or a key still in its overlap after a rotation.
        let allowedKeys = Set(addressed.flatMap(\.decryptionKeys))
        var decrypted: DecryptedMessage
        switch try await payload.decrypt(pgp, forKeys: allowedKeys) {
        case .decrypted(let message): decrypted = message
        case .failed(let failure): return try await reject(Self.reason(for: failure))
        }
        guard let mailbox = addressed.first(where: { $0.decryptionKeys.contains(decrypted.decryptionKey) }) else {
            return try await reject(.notForUs)
        }
        var firstInner: InnerMessage? = InnerMessage(decrypted: decrypted, outerHeaders: headers,
                                                     limits: configuration.mimeLimits)

        let keys = ClientKeyResolver(pgp: pgp, threads: threads)
        let imported = try await keys.importOffered(
            (firstInner?.offeredKeys ?? []) + Autocrypt.keyData(in: headers, for: sender.address))
        if !imported.isEmpty, let publishKeys { try await publishKeys(imported) }
        // A signature by a key that arrived in this very message could not be checked at decryption time.
        // So could one by a key whose refreshed copy (new expiry) it carried (issue 17).
        if !imported.isEmpty, Self.mayVerifyAfterImport(decrypted.signature) {
            // The parse of the first run (its decoded attachments are about as large as the message) is not kept
            // through the second run; it is made again from what the second run returns (issue 23).
            firstInner = nil
            let key = decrypted.decryptionKey
            switch try await payload.decrypt(pgp, forKeys: [key]) {
            case .decrypted(let again):
                decrypted = again
                // Still "no public key" for a key just imported: the engine did not read the keyring it wrote.
                if try await Self.namesImportedKey(again.signature, imported, pgp), !UnfinishedRuns.judged {
                    throw PGPError.contradictedRerun()
                }
            case .failed(let failure):
                // The same ciphertext decrypted a moment ago: the engine contradicts itself. Never the first run's
                // result instead (its signer unknown, the message would go to a thread without key); a later
                // attempt, or the judged one, decides.
                guard UnfinishedRuns.judged else { throw PGPError.contradictedRerun() }
                return try await reject(Self.reason(for: failure))
            }
        }
        let inner = firstInner ?? InnerMessage(decrypted: decrypted, outerHeaders: headers,
                                               limits: configuration.mimeLimits)
        // Several signers (or good and bad signatures mixed) cannot be one client's words: an attacker's
        // co-signature on a victim's text must not decide whose thread it lands in.
        guard Self.hasOneSigner(decrypted.signatureDetails) else { return try await reject(.ambiguousSigners) }
        guard let clientKey = try await keys.clientKey(signature: decrypted.signature, sender: sender.address,
                                                       field: mailbox.field, offered: imported)
        else { return try await importWithoutKey(decrypted, inline: inline, payload.armor, message, headers, inner,
                                                 sender, mailbox, offered: imported) }

        let signerKey: KeyInfo? = switch decrypted.signature {
        case .good(let signer), .goodButKeyNotCurrent(let signer, _): try await pgp.existingKey(signer)
        default: nil
        }
        let signerAddresses = Set(signerKey?.addresses.map(\.canonical) ?? [])
        // The signer's key does not claim the From address (its words go to the signer's own thread).
        let fromNotClaimed = signerKey != nil && !signerAddresses.contains(sender.address.canonical)
        // A key that claims no address at all cannot say whose thread its words belong to.
        if signerKey != nil, signerAddresses.isEmpty { return try await reject(.noClientKey) }
        // Unsigned text has no author: it is bound to a client key only if that key could read the message too
        // (the client encrypted to itself, as Thunderbird, Mailvelope and GpgOL do). Someone who captured the
        // ciphertext cannot add a key packet for their own key without the session key.
        if signerKey == nil, case .unsigned = decrypted.signature {
            // Key material another certificate holds too proves nothing (SelfEncryptionProof.swift).
            guard try await encryptedToMaterialOnlyItHolds(clientKey, decrypted)
            else { return try await importWithoutKey(decrypted, inline: inline, payload.armor, message, headers, inner,
                                                     sender, mailbox, offered: imported) }
        }
        // A signature binds the words to its signer. When the signing key does not claim the From address, the
        // message goes to the signer's own thread (the address its key first wrote from, else the key's own
        // address), never to a thread of the address in From: a victim's signed ciphertext sent first from an
        // attacker's address must not open a thread whose replies go to the attacker.
        var threadAddress = sender.address
        if fromNotClaimed {
            let registered = try await threads.firstAddress(ofKey: clientKey, field: mailbox.field)
            if let owner = (registered.flatMap { try? EmailAddress($0.unredactedDescription) })
                ?? signerKey?.addresses.first
            {
                threadAddress = owner
            }
        }
        let identity = ClientIdentity(field: mailbox.field, key: clientKey,
                                      address: try ClientAddress(threadAddress))
        let binding = SignatureBinding(
            threadKey: clientKey, signerKey: signerKey, signerAddresses: signerAddresses,
            from: sender.address.canonical, standing: .registered,
            mailboxAddresses: Set(configuration.mailboxes.map(\.address.canonical)),
            mailboxKey: decrypted.decryptionKey, intendedRecipients: decrypted.intendedRecipients,
            protectedFrom: inner.protectedFrom, protectedRecipients: inner.protectedRecipients,
            arrivedAt: message.envelope.receivedAt, maximumSignatureAge: configuration.maximumSignatureAge)
        let signer = signerKey.map {
            MessageSigner(fingerprint: $0.fingerprint,
                          userID: SignatureBinding.displayedUserID($0, from: sender.address.canonical),
                          subjectSigned: inner.subjectIsProtected)
        }
        let fallbackHash = PayloadHash.sha256(of: decrypted.plaintext.bytes)
        // Inline PGP is bare text: stored as UTF-8 (armor `Charset:`, else UTF-8, else windows-1252).
        let plaintext = decrypted.plaintext.bytes
        let body = inline ? InlinePlaintext.utf8(plaintext, armored: payload.armor) : plaintext
        let newMessage = NewMessage(
            direction: .inbound, messageID: inner.messageID(fallbackHash: fallbackHash),
            subject: inner.subject, body: body, attachments: inner.attachments,
            verdict: .unsigned, receivedAt: message.envelope.receivedAt,
            replayFingerprints: replayFingerprints(decrypted),
            // Words moved to their signer's thread are remembered provisionally: the signer's own copy, when it
            // arrives from an address its key claims, is imported once too; any other copy is a replay.
            replayFingerprintsAreProvisional: fromNotClaimed,
            signer: signer)
        let time = now()
        let notice = NoticeFactory(mailbox: mailbox, time: time, inbox: configuration.notices.inboxLink,
                                   outbox: outbox)
        let deciding = decrypted.signatureDetail
        // A reply joins the thread whose message it answers (In-Reply-To/References naming a message we sent in
        // a thread of the same client key); otherwise the client's newest thread in the field, or a new one.
        let references = headers.referencedMessageIDs
        // A message whose good signature is by its own key for its own From address gives a thread that awaited
        // that key (issue 17) its key, before the key's standing is decided.
        let givesAwaitedKey = signerKey?.fingerprint == clientKey && !fromNotClaimed
        // The receipt (issue 17) is encrypted before the transaction and queued in it only if the stored verdict
        // is valid and the message new.
        let receipt = try await ReceiptFactory(pgp: pgp, mailbox: mailbox, time: time, outbox: outbox).prepare(
            period: try await receiptPeriodIfDue(identity: identity, references: references,
                                                 givesAwaitedKey: givesAwaitedKey, time: time),
            verdict: binding.verdict(for: deciding),
            signer: signerKey?.fingerprint, threadKey: clientKey, client: threadAddress,
            envelopeSender: message.envelope.reversePath.address, headers: headers,
            ownAddresses: configuration.mailboxes.map(\.address))
        // One transaction (``InboundStore/importFromClient(_:)``): the awaited key, the key's standing and with it
        // the verdict, the answered thread, the import, its notice and the receipt.
        let done = try await threads.importFromClient(ClientMessageImport(
            message: try fitToStore(newMessage, message.queueID), identity: identity,
            givesAwaitedKey: givesAwaitedKey, references: references,
            verdict: { standing in
                var binding = binding
                binding.standing = standing
                return binding.verdict(for: deciding)
            },
            notice: notice.plan, receipt: receipt?.plan))
        if done.queued { outbox.wakeAfterCommit() }
        switch done.outcome {
        case .stored(let thread, _, let created):
            if done.verdict == .valid { await releaseHeldReplies(thread, mailbox) }
            return .imported(thread, createdThread: created)
        case .duplicate(let thread, _): return .duplicate(thread)
        case .replayedCiphertext: return .rejectedEncrypted(.replayedCiphertext)
        }
    }

    /// True for an unsigned message, or one whose signatures are all good and by one key.
    static func hasOneSigner(_ signatures: [SignatureDetail]) -> Bool {
        guard signatures.count > 1 else { return true }
        var signers = Set<KeyFingerprint>()
        for signature in signatures {
            guard case .good(let signer) = signature.verdict else { return false }
            signers.insert(signer)
        }
        return signers.count == 1
    }

    /// Keyed fingerprints of what the message decrypted to: its session key, and for every signature that names
    /// its signer, that signer, the signature's time and the signed bytes. The same ciphertext in any armor,
    /// framing or MIME shape has the same session key; a signed message re-encrypted by someone else (new session
    /// key, even another literal file name or date, which no signature covers) keeps its signatures. Unsigned
    /// content gets no content fingerprint: two clients' "Ja, danke." are different messages.
    func replayFingerprints(_ decrypted: DecryptedMessage) -> [ReplayFingerprint] {
        // Scoped to the mailbox whose key decrypted it: one message a client sent to two counselling addresses,
        // delivered to each, reaches both; another mailbox's key never opens it (see `forKeys`).
        let scope = Array("\(decrypted.decryptionKey.hex) ".utf8)
        var fingerprints: [ReplayFingerprint] = []
        if let sessionKey = decrypted.sessionKey {
            fingerprints.append(threads.replayFingerprint(.sessionKey, scope + sessionKey.material))
        }
        for detail in decrypted.signatureDetails {
            let signer: String? = switch detail.verdict {
            case .good(let key), .goodButKeyNotCurrent(let key, _): key.hex
            case .unknownKey(let id): id.uppercased()
            case .unsigned, .bad, .error: nil
            }
            guard let signer, let created = detail.createdAt else { continue }
            var content: [UInt8] = []
            for part in [scope, Array("\(signer) \(Int64(created.timeIntervalSince1970))".utf8),
                         decrypted.plaintext.bytes] {
                withUnsafeBytes(of: UInt64(part.count).bigEndian) { content.append(contentsOf: $0) }
                content.append(contentsOf: part)
            }
            fingerprints.append(threads.replayFingerprint(.content, content))
            for index in content.indices { content[index] = 0 }
        }
        return fingerprints
    }

    func reject(_ reason: AcceptOutcome.RejectionReason) async throws -> AcceptOutcome {
        try await record(.inboundEncryptedRejected, reason: reason)
        return .rejectedEncrypted(reason)
    }

    private func record(_ event: AuditEvent, reason: AcceptOutcome.RejectionReason) async throws {
        try await record(event, code: reason.storedCode)
    }

    private func record(_ event: AuditEvent, code: Int) async throws {
        try await threads.recordInbound(event, reason: code)
    }

    // MARK: Helpers

    /// Reads the spooled message on the blocking-I/O pool (a 25 MB read must not hold a cooperative thread).
    private func readSpool(_ message: InboundMessage) async throws -> [UInt8] {
        guard message.size <= configuration.mimeLimits.maximumMessageBytes else {
            return []  // over the MIME limit: parsing fails and the message is treated as unparseable
        }
        let path = message.spoolFile.path
        let limit = configuration.mimeLimits.maximumMessageBytes
        return try await NIOThreadPool.singleton.runIfActive { try POSIXFile.readAll(path, limit: limit) }
    }

    private func mailbox(for recipients: [EmailAddress]) -> PipelineMailbox? {
        mailboxes(for: recipients).first
    }

    /// The configured mailboxes among the envelope recipients, in recipient order, each once.
    private func mailboxes(for recipients: [EmailAddress]) -> [PipelineMailbox] {
        var found: [PipelineMailbox] = []
        for recipient in recipients {
            if let mailbox = configuration.mailboxes.first(where: { $0.address.canonical == recipient.canonical }),
                !found.contains(where: { $0.address.canonical == mailbox.address.canonical })
            {
                found.append(mailbox)
            }
        }
        return found
    }


    static func reason(for failure: DecryptionFailure) -> AcceptOutcome.RejectionReason {
        switch failure {
        case .notEncrypted: .notEncrypted
        case .noSecretKey: .notForUs
        case .integrityProtectionMissing: .integrityProtectionMissing
        case .corrupted: .corrupted
        case .unsupportedAlgorithm: .unsupportedAlgorithm
        case .plaintextTooLarge: .tooLarge
        case .nestedEncryption: .nestedEncryption
        }
    }
}
