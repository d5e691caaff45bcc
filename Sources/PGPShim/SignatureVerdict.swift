/// What one OpenPGP signature says, as a value (never an exception).
///
/// Built from gpgme's per-signature `status` (a gpg-error code) and `summary` bits. Validity here is
/// cryptographic only: `.good` means the signature verifies with the key whose fingerprint it names.
/// Whether that key *belongs* to the thread is a separate question answered by ``bound(to:)``.
public enum SignatureVerdict: Hashable, Sendable, CustomStringConvertible {
    /// No signature was present.
    case unsigned
    /// The signature verifies with the key `signer` (primary-key fingerprint), which is not expired or revoked.
    case good(signer: KeyFingerprint)
    /// The signature verifies, but the key or the signature has expired, or the key was revoked.
    case goodButKeyNotCurrent(signer: KeyFingerprint, reason: NotCurrentReason)
    /// The public key needed to check the signature is not in the keyring (`id` is a fingerprint or key ID).
    case unknownKey(id: String)
    /// The signature does not verify: the content or the signature was changed.
    case bad(id: String)
    /// The signature could not be checked for another reason (unsupported algorithm, malformed, …).
    case error(code: UInt32)

    public enum NotCurrentReason: Hashable, Sendable {
        case keyExpired, signatureExpired, keyRevoked
    }

    /// The verdict relative to the key registered for a thread: a good signature by any other key is
    /// ``BoundSignatureVerdict/signerMismatch``, never valid.
    public func bound(to expected: KeyFingerprint?) -> BoundSignatureVerdict {
        switch self {
        case .unsigned: return .unsigned
        case .good(let signer):
            guard let expected else { return .signedByUnregisteredKey(signer) }
            return signer == expected ? .validByThreadKey : .signerMismatch(signer)
        case .goodButKeyNotCurrent(let signer, let reason):
            guard let expected, signer == expected else {
                return .signedByUnregisteredKey(signer)
            }
            return .threadKeyNotCurrent(reason)
        case .unknownKey: return .unknownSigner
        case .bad: return .invalid
        case .error: return .invalid
        }
    }

    /// True for a signature that verifies with the key it names (current or not).
    public var isCryptographicallyGood: Bool {
        switch self {
        case .good, .goodButKeyNotCurrent: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .unsigned: "unsigned"
        case .good: "good"
        case .goodButKeyNotCurrent(_, let reason): "good-but-\(reason)"
        case .unknownKey: "unknown-key"
        case .bad: "bad"
        case .error(let code): "error(\(code))"
        }
    }
}

/// A signature verdict relative to the key registered for a thread; this is what the counsellor sees.
public enum BoundSignatureVerdict: Hashable, Sendable {
    case unsigned
    /// Signed by exactly the key registered for the thread.
    case validByThreadKey
    /// The thread's key signed, but it has expired or was revoked.
    case threadKeyNotCurrent(SignatureVerdict.NotCurrentReason)
    /// A good signature, but by a different key than the thread's: shown as such, never as valid.
    case signerMismatch(KeyFingerprint)
    /// A good signature by a key, and the thread has no registered key yet.
    case signedByUnregisteredKey(KeyFingerprint)
    /// The signer's key is not known.
    case unknownSigner
    /// The signature is bad or could not be checked.
    case invalid
}
