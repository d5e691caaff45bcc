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

/// Plaintext whose integrity protection (MDC or AEAD) was present and checked. Only PGPShim creates it.
public struct DecryptedMessage: Sendable, CustomStringConvertible {
    public let plaintext: Plaintext
    /// Key IDs of the public-key encrypted session key packets (who the message was encrypted to).
    public let recipientKeyIDs: [String]
    /// Every signature in the message, in order; empty if unsigned.
    public let signatures: [SignatureVerdict]
    /// True if the sender marked the literal data as MIME (RFC 4880 'm' / gpgme `is_mime`).
    public let isMIME: Bool
    /// Always true: a message without integrity protection is a ``DecryptionFailure/integrityProtectionMissing``.
    public let integrityProtected: Bool

    init(plaintext: Plaintext, recipientKeyIDs: [String], signatures: [SignatureVerdict], isMIME: Bool) {
        self.plaintext = plaintext
        self.recipientKeyIDs = recipientKeyIDs
        self.signatures = signatures
        self.isMIME = isMIME
        self.integrityProtected = true
    }

    /// One verdict for the message: ``SignatureVerdict/unsigned`` if unsigned, the single verdict if signed
    /// once, and for several signatures the first that is not `.good` (so one bad signature taints the message).
    public var signature: SignatureVerdict {
        guard let first = signatures.first else { return .unsigned }
        return signatures.first(where: { if case .good = $0 { false } else { true } }) ?? first
    }

    public var description: String {
        "DecryptedMessage(\(plaintext), recipients: \(recipientKeyIDs.count), signature: \(signature))"
    }
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

    public var description: String {
        switch self {
        case .notEncrypted: "not-encrypted"
        case .noSecretKey: "no-secret-key"
        case .integrityProtectionMissing: "integrity-protection-missing"
        case .corrupted: "corrupted"
        case .unsupportedAlgorithm: "unsupported-algorithm"
        case .plaintextTooLarge(let limit): "plaintext-too-large(limit: \(limit))"
        }
    }
}
