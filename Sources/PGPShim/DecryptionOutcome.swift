public import Foundation

/// The result of decrypting an untrusted message: either plaintext that passed integrity checks, or the reason
/// there is none. A failure never carries any part of the plaintext.
public enum DecryptionOutcome: Sendable, CustomStringConvertible {
    case decrypted(DecryptedMessage)
    case failed(DecryptionFailure)

    public var description: String {
        switch self {
        case .decrypted(let message): "decrypted(\(message))"
        case .failed(let failure): "failed(\(failure))"
        }
    }
}

/// Plaintext whose integrity protection (MDC or AEAD) was present and checked, decrypted as one layer by one
/// known key. Only PGPShim creates it.
public struct DecryptedMessage: Sendable, CustomStringConvertible {
    public let plaintext: Plaintext
    /// Key IDs of the public-key encrypted session key packets (who the message was encrypted to).
    public let recipientKeyIDs: [String]
    /// Every signature in the message, in order, with its creation time; empty if unsigned.
    public let signatureDetails: [SignatureDetail]
    /// True if the sender marked the literal data as MIME (RFC 4880 'm' / gpgme `is_mime`).
    public let isMIME: Bool
    /// Always true: a message without integrity protection is a ``DecryptionFailure/integrityProtectionMissing``.
    public let integrityProtected: Bool
    /// The primary fingerprint of the secret key that decrypted the session key (gpg's `DECRYPTION_KEY`).
    public let decryptionKey: KeyFingerprint
    /// The session key, if the engine exported it. What the message decrypts with, whatever its encoding.
    public let sessionKey: SessionKey?
    /// gpg's `PLAINTEXT` line for the literal data: format, date and file name (may hold client data).
    public let literalHeader: String
    /// The Intended Recipient Fingerprints of the message's signatures (read only when a signature is good).
    public let intendedRecipients: IntendedRecipients
    /// How many gpg runs the decryption that produced this result took (a diagnostic; a retried attempt is not
    /// counted): 1, or 2 when the signature packets were read from a second `--unwrap` run instead of the
    /// in-process unwrap (issue 23).
    public let engineRuns: Int

    init(plaintext: Plaintext, recipientKeyIDs: [String], signatureDetails: [SignatureDetail], isMIME: Bool,
         decryptionKey: KeyFingerprint, sessionKey: SessionKey?, literalHeader: String,
         intendedRecipients: IntendedRecipients, engineRuns: Int = 1) {
        self.plaintext = plaintext
        self.recipientKeyIDs = recipientKeyIDs
        self.signatureDetails = signatureDetails
        self.isMIME = isMIME
        self.integrityProtected = true
        self.decryptionKey = decryptionKey
        self.sessionKey = sessionKey
        self.literalHeader = literalHeader
        self.intendedRecipients = intendedRecipients
        self.engineRuns = engineRuns
    }

    /// One verdict for the message: ``SignatureVerdict/unsigned`` if unsigned, the single verdict if signed
    /// once, and for several signatures the first that is not `.good` (so one bad signature taints the message).
    public var signature: SignatureVerdict { signatureDetail?.verdict ?? .unsigned }

    /// The signature that decides the message's verdict (see ``signature``), or nil if unsigned.
    public var signatureDetail: SignatureDetail? {
        guard let first = signatureDetails.first else { return nil }
        return signatureDetails.first(where: { if case .good = $0.verdict { false } else { true } }) ?? first
    }

    public var description: String {
        "DecryptedMessage(\(plaintext), recipients: \(recipientKeyIDs.count), signature: \(signature))"
    }
}

/// What the signatures of a message say about whom they were made for (RFC 9580 §5.2.3.36).
public enum IntendedRecipients: Sendable, Hashable {
    /// Not read: the message has no cryptographically good signature.
    case notInspected
    /// The signatures carry no Intended Recipient Fingerprint (gpg, rnp and sqop do not write them).
    case none
    /// For each signature that names intended recipients, their primary-key fingerprints (upper-case hex).
    case named([[String]])
    /// The signature packets could not be read: treated as a doubt, never as "for us".
    case unreadable

    /// Whether the signatures allow `key` as a recipient: no signature names recipients, or every signature
    /// that does names it (a co-signature naming us cannot cover a signature made for someone else).
    public func admit(_ key: KeyFingerprint) -> Bool {
        switch self {
        case .notInspected, .none: true
        case .named(let lists): lists.allSatisfy { $0.contains(key.hex) }
        case .unreadable: false
        }
    }
}

/// One signature of a decrypted message.
public struct SignatureDetail: Sendable, Hashable {
    public let verdict: SignatureVerdict
    /// When the signer says it was made (the signature creation time subpacket); nil if gpg did not report one.
    public let createdAt: Date?

    public init(verdict: SignatureVerdict, createdAt: Date?) {
        self.verdict = verdict
        self.createdAt = createdAt
    }
}

/// A message's symmetric session key as the engine exported it (`<algo>:<hex>`). Secret: `description` shows
/// nothing, and the bytes are only for a keyed hash.
public struct SessionKey: Sendable, CustomStringConvertible {
    /// The algorithm number and key bytes as gpg prints them, upper-cased.
    public let material: [UInt8]

    /// Copies gpgme's `session_key` string and zeroes it in place; nil for none or an implausible value.
    init?(takingFrom pointer: UnsafeMutablePointer<CChar>?) {
        guard let pointer else { return nil }
        let count = strnlen(pointer, 1024)
        let raw = UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt8.self)
        let bytes = Array(UnsafeBufferPointer(start: raw, count: count))
        memset(pointer, 0, count)
        // "<algo>:<hex>": digits, a colon, hex digits.
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon < bytes.count - 1,
            bytes[..<colon].allSatisfy({ (0x30...0x39).contains($0) }),
            bytes[(colon + 1)...].allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x46).contains($0 & 0xDF) })
        else { return nil }
        material = bytes.map { (0x61...0x66).contains($0) ? $0 - 0x20 : $0 }
    }

    public var description: String { "SessionKey(<redacted>)" }
}

/// Why a message did not decrypt. Content-free by construction.
public enum DecryptionFailure: Hashable, Sendable, CustomStringConvertible {
    /// The input is not an OpenPGP encrypted message (includes signed-only messages).
    case notEncrypted
    /// None of our secret keys can decrypt it (wrong recipient, or only a passphrase/SKESK).
    case noSecretKey
    /// Legacy Symmetrically Encrypted Data (no MDC, no AEAD). Plaintext is never returned for this.
    case integrityProtectionMissing
    /// The ciphertext is corrupt or the integrity check (MDC/AEAD tag) failed.
    case corrupted
    /// The message uses an algorithm or packet version this GnuPG does not support (e.g. AEAD on GnuPG 2.2).
    case unsupportedAlgorithm
    /// The plaintext is larger than the configured cap (compression bomb defence).
    case plaintextTooLarge(limit: Int)
    /// The decrypted data held another encrypted OpenPGP message (a captured ciphertext wrapped in a new one).
    case nestedEncryption

    public var description: String {
        switch self {
        case .notEncrypted: "not-encrypted"
        case .noSecretKey: "no-secret-key"
        case .integrityProtectionMissing: "integrity-protection-missing"
        case .corrupted: "corrupted"
        case .unsupportedAlgorithm: "unsupported-algorithm"
        case .plaintextTooLarge(let limit): "plaintext-too-large(limit: \(limit))"
        case .nestedEncryption: "nested-encryption"
        }
    }
}
