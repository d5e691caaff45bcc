public import Foundation
import Crypto

/// A SHA-256 digest, for example of an encrypted payload as received (replay detection).
///
/// ```swift
/// let hash = PayloadHash.sha256(of: armoredCiphertext)
/// let fallbackID = "<\(hash)@mailbridge.invalid>"
/// ```
public struct PayloadHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: Data

    /// Wraps 32 bytes computed elsewhere.
    public init(bytes: Data) throws(ThreadStoreError) {
        guard bytes.count == 32 else { throw .invalidValue }
        self.bytes = bytes
    }

    /// SHA-256 of `data`.
    public static func sha256(of data: some DataProtocol) -> PayloadHash {
        PayloadHash(unchecked: Data(SHA256.hash(data: data)))
    }

    private init(unchecked bytes: Data) { self.bytes = bytes }

    /// The digest as lower-case hex (a hash of ciphertext, not personal data).
    public var description: String { bytes.map { String(format: "%02x", $0) }.joined() }
}

/// A keyed HMAC-SHA256 of a canonical sender address, for the auto-reply rate limit. Only the store can make one
/// (``ThreadStore/senderHMAC(canonicalAddress:)``), with a key derived from the master key.
public struct SenderHMAC: Hashable, Sendable, CustomStringConvertible {
    let bytes: Data
    init(bytes: Data) { self.bytes = bytes }
    public var description: String { "SenderHMAC(<redacted>)" }
}

/// A keyed HMAC-SHA256 of what an encrypted message *means*: its session key, or one of its signatures with the
/// bytes it signs. The same ciphertext re-armored, re-framed or moved between PGP/MIME and inline gives the
/// same fingerprints, so replays are recognised by meaning, not by bytes; keyed, so the table does not let anyone
/// test whether a given ciphertext was received. Only the store makes one (``ThreadStore/replayFingerprint(_:_:)``).
public struct ReplayFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// What the fingerprint is of; part of the HMAC input, so the kinds never collide.
    public enum Kind: String, Sendable {
        /// The session key (symmetric algorithm and key bytes) that decrypted the message.
        case sessionKey = "replay-session-key"
        /// One signature (signer, creation time) with the bytes it signs.
        case content = "replay-content"
    }

    let bytes: Data
    init(bytes: Data) { self.bytes = bytes }
    public var description: String { "ReplayFingerprint(<redacted>)" }
}
