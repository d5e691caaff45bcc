public import Foundation

/// Whether a message came from the client or went to them.
public enum MessageDirection: Int, Hashable, Sendable {
    /// From the client (decrypted inbound mail).
    case inbound = 0
    /// From a counsellor to the client.
    case outbound = 1
}

/// The outcome of the signature check on an inbound message, as a stored code. PGPShim's richer verdict maps
/// onto this; the signer's fingerprint is not repeated here (the thread has the client key).
public enum SignatureVerdictCode: Int, Hashable, Sendable, CaseIterable {
    /// The message was not signed.
    case unsigned = 0
    /// Good signature by the thread's client key.
    case valid = 1
    /// Good signature by a key that is not (yet) trusted.
    case validButUntrusted = 2
    /// The signature does not verify.
    case bad = 3
    /// Signed by a key that is not in the keyring.
    case missingKey = 4
    /// Not applicable (outbound messages written by counsellors).
    case notApplicable = 5
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
    /// SHA-256 of the encrypted payload as received, for replay detection; `nil` for outbound messages.
    public var ciphertextHash: PayloadHash?

    /// Creates a message to import.
    public init(
        direction: MessageDirection,
        messageID: String,
        subject: String,
        body: [UInt8],
        attachments: [NewAttachment] = [],
        verdict: SignatureVerdictCode,
        receivedAt: Date,
        ciphertextHash: PayloadHash?
    ) {
        self.direction = direction
        self.messageID = messageID
        self.subject = subject
        self.body = body
        self.attachments = attachments
        self.verdict = verdict
        self.receivedAt = receivedAt
        self.ciphertextHash = ciphertextHash
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
}

/// What an import did. A duplicate or replay is a result, not an error.
public enum ImportOutcome: Hashable, Sendable {
    /// Stored as a new message. `createdThread` tells whether the thread was created for it.
    case stored(ThreadID, StoredMessageID, createdThread: Bool)
    /// The same message (Message-ID and content) is already in the thread; nothing was written.
    case duplicate(ThreadID, StoredMessageID)
    /// The encrypted payload was stored before (in any thread); nothing was written.
    case replayedCiphertext
}
