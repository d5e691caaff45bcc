public import Foundation
public import MailValues

/// Whether a message came from the client or went to them.
public enum MessageDirection: Int, Hashable, Sendable {
    /// From the client (decrypted inbound mail).
    case inbound = 0
    /// From a counsellor to the client.
    case outbound = 1
}

/// The outcome of the signature check on an inbound message, as a stored code (the raw values are on disk and
/// pinned by a test). Only ``valid`` means "the client of this thread wrote it"; every other code is shown as
/// what it is, with the signer's fingerprint and user ID (``MessageSigner``) beside it.
public enum SignatureVerdictCode: Int, Hashable, Sendable, CaseIterable {
    /// The message was not signed.
    case unsigned = 0
    /// Good, current signature by the thread's registered key, whose user IDs include the From address, made for
    /// this mailbox and recently.
    case valid = 1
    /// Good signature by a key that is not the thread's (messages stored before v10; new imports use the
    /// specific codes below).
    case validButUntrusted = 2
    /// The signature does not verify.
    case bad = 3
    /// Signed by a key that is not in the keyring.
    case missingKey = 4
    /// Not applicable (outbound messages written by counsellors).
    case notApplicable = 5
    /// Good signature, but the signing key has no user ID with exactly the From address (or the signed inner
    /// headers name another sender).
    case signerAddressMismatch = 6
    /// Good signature by a key the address is not registered with: another thread already holds this address
    /// with a different key, and no counsellor has confirmed the change.
    case unconfirmedKeyChange = 7
    /// Good signature, but its Intended Recipient Fingerprints name other keys than this mailbox's: it was
    /// written for someone else and forwarded (RFC 9580 §5.2.3.36).
    case notForThisRecipient = 8
    /// Good signature made long before the message arrived (older than the configured window): possibly an old
    /// message sent again.
    case oldSignature = 9
    /// Good signature by the thread's key, but the key (or the signature) has expired or was revoked.
    case keyNotCurrent = 10
}

/// Who made a message's signature, as the engine reports it: the signing key's primary fingerprint and the user
/// ID that matched the From address (or the key's first user ID). Sealed at rest; shown beside the verdict in a
/// place the message text cannot imitate.
public struct MessageSigner: Hashable, Sendable, CustomStringConvertible {
    /// The primary-key fingerprint (sealed as its upper-case hex, 40 or 64 digits).
    public var fingerprint: KeyFingerprint
    /// A user ID of the key (may be empty if the key has none the engine could read): free text chosen by the
    /// key's maker, not an address.
    public var userID: String
    /// Whether the message's stored subject is covered by this signature: true when it came from the signed inner
    /// headers (protected headers), false when it came from the outer header, which no signature covers and
    /// anyone on the way could have changed; nil for messages stored before this was recorded.
    public var subjectSigned: Bool?

    public init(fingerprint: KeyFingerprint, userID: String, subjectSigned: Bool? = nil) {
        self.fingerprint = fingerprint
        self.userID = userID
        self.subjectSigned = subjectSigned
    }

    public var description: String { "MessageSigner(<redacted>)" }
}

/// An attachment to store with a message. Name, media type and content are sealed.
public struct NewAttachment: Sendable, CustomStringConvertible {
    /// The file name as given by the sender.
    public var name: String
    /// The media type, for example `application/pdf`.
    public var mediaType: String
    /// The decoded content.
    public var content: [UInt8]

    /// Creates an attachment.
    public init(name: String, mediaType: String, content: [UInt8]) {
        self.name = name
        self.mediaType = mediaType
        self.content = content
    }

    public var description: String { "NewAttachment(<redacted>, \(content.count) bytes)" }
}

/// A decrypted message to store in a thread.
public struct NewMessage: Sendable, CustomStringConvertible {
    /// Inbound (from the client) or outbound (a counsellor's reply).
    public var direction: MessageDirection
    /// The RFC 5322 Message-ID (stored sealed; its keyed HMAC makes imports idempotent).
    public var messageID: String
    /// The decrypted subject.
    public var subject: String
    /// The raw decrypted MIME bytes.
    public var body: [UInt8]
    /// Attachments extracted from the body.
    public var attachments: [NewAttachment]
    /// The signature verdict.
    public var verdict: SignatureVerdictCode
    /// When the message arrived (or was written).
    public var receivedAt: Date
    /// Keyed fingerprints of what the encrypted payload decrypted to (session key, literal data), for replay
    /// detection in every thread; empty for outbound messages. Made by ``ThreadStore/replayFingerprint(_:_:)``.
    public var replayFingerprints: [ReplayFingerprint]
    /// True for a message whose signer's key does not claim its From address (it went to the signer's own
    /// thread): its fingerprints are recorded as provisional, so one later copy from an address the key claims (the
    /// signer's own) is still imported; every other copy is a replay.
    public var replayFingerprintsAreProvisional: Bool
    /// Who signed it (inbound messages with a good signature), or nil.
    public var signer: MessageSigner?

    /// Creates a message to import.
    public init(
        direction: MessageDirection,
        messageID: String,
        subject: String,
        body: [UInt8],
        attachments: [NewAttachment] = [],
        verdict: SignatureVerdictCode,
        receivedAt: Date,
        replayFingerprints: [ReplayFingerprint] = [],
        replayFingerprintsAreProvisional: Bool = false,
        signer: MessageSigner? = nil
    ) {
        self.direction = direction
        self.messageID = messageID
        self.subject = subject
        self.body = body
        self.attachments = attachments
        self.verdict = verdict
        self.receivedAt = receivedAt
        self.replayFingerprints = replayFingerprints
        self.replayFingerprintsAreProvisional = replayFingerprintsAreProvisional
        self.signer = signer
    }

    public var description: String { "NewMessage(\(direction), \(body.count) bytes, <redacted>)" }
}

/// A decrypted attachment of a stored message.
public struct StoredAttachment: Hashable, Sendable, CustomStringConvertible {
    /// The file name.
    public var name: String
    /// The media type.
    public var mediaType: String
    /// The content.
    public var content: [UInt8]

    public var description: String { "StoredAttachment(<redacted>, \(content.count) bytes)" }
}

/// A decrypted message of an opened thread.
public struct StoredMessage: Hashable, Sendable, CustomStringConvertible {
    /// The store's ID for the message.
    public var id: StoredMessageID
    /// Inbound or outbound.
    public var direction: MessageDirection
    /// The RFC 5322 Message-ID.
    public var messageID: String
    /// The subject.
    public var subject: String
    /// The raw decrypted MIME bytes.
    public var body: [UInt8]
    /// The attachments.
    public var attachments: [StoredAttachment]
    /// The signature verdict.
    public var verdict: SignatureVerdictCode
    /// Who signed it, where the signature was good; nil otherwise.
    public var signer: MessageSigner?
    /// When it arrived.
    public var receivedAt: Date
    /// Whether a counsellor marked it read (outbound messages are always read).
    public var isRead: Bool

    public var description: String { "StoredMessage(\(id), \(direction), \(body.count) bytes, <redacted>)" }
}

/// Where ``WriteTransaction/importMessage(_:into:)`` puts a message.
public enum ImportDestination: Sendable {
    /// An existing thread.
    case thread(ThreadID)
    /// The client's newest thread in the field (an inbound message reopens it if closed); a new thread if there is
    /// none.
    /// The thread is created only if the message is stored (not for a duplicate or a replay).
    case client(ClientIdentity)
    /// The newest open thread without key of this client (issue 17), or a new one. Never a thread with a key.
    case awaitingKey(AwaitingKeyClient)
}

/// What an import did. A duplicate or replay is a result, not an error.
public enum ImportOutcome: Hashable, Sendable {
    /// Stored as a new message. `createdThread` tells whether the thread was created for it.
    case stored(ThreadID, StoredMessageID, createdThread: Bool)
    /// The same message (Message-ID and content) is already in the thread; nothing was written.
    case duplicate(ThreadID, StoredMessageID)
    /// What the encrypted payload decrypts to was stored before (in any thread, whatever its encoding); nothing
    /// was written.
    case replayedCiphertext
}
