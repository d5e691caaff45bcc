// Security: an awaited signer ID is engine output about a signature the gateway could not check: whoever made
// the message chose it. It identifies a thread "without key" together with the address, and is stored sealed; it
// never makes a signature valid and never joins a thread of a known key.

public import Foundation

/// The key a signature names but the gateway does not have: a fingerprint (40 or 64 hex) or, from old signers,
/// a 64-bit key ID (16 hex), upper-case.
public struct AwaitedSignerID: Hashable, Sendable, CustomStringConvertible {
    /// Upper-case hex.
    public let hex: String

    /// Validates 16, 40 or 64 hex characters (either case).
    public init(_ text: String) throws(ThreadStoreError) {
        guard [16, 40, 64].contains(text.utf8.count), text.utf8.allSatisfy(isHexDigit) else {
            throw .invalidIdentifier
        }
        hex = text.uppercased()
    }

    /// The IDs a key with this fingerprint answers to: the fingerprint, and for a v4 key its key ID (the last 16
    /// hex digits, RFC 4880 §12.2) as older signatures name it.
    public static func names(of fingerprint: ClientKeyFingerprint) -> [AwaitedSignerID] {
        var names = [try? AwaitedSignerID(fingerprint.hex)]
        if fingerprint.hex.utf8.count == 40 { names.append(try? AwaitedSignerID(String(fingerprint.hex.suffix(16)))) }
        return names.compactMap { $0 }
    }

    public var unredactedDescription: String { hex }
    public var description: String { "<awaited-signer>" }
}

/// The client of a thread without key: the counselling field, the address the mail came from (its From), and the
/// signer its signature named (nil: unsigned). A thread without key holds the mail of exactly one such triple: a
/// mail with the same From but another (or no) signer goes to another thread, and none of them is ever a thread
/// of a client whose key the gateway has (see docs/security.md, "Mail without a known key").
public struct AwaitingKeyClient: Hashable, Sendable, CustomStringConvertible {
    public var field: CounsellingField
    public var address: ClientAddress
    public var signer: AwaitedSignerID?

    public init(field: CounsellingField, address: ClientAddress, signer: AwaitedSignerID?) {
        self.field = field
        self.address = address
        self.signer = signer
    }

    public var description: String { "AwaitingKeyClient(<redacted>)" }
}

/// Why a counsellor reply is held (stored code: pinned by a test).
public enum HeldReplyProblem: Int, Hashable, Sendable, CaseIterable {
    /// The thread has no key yet, or the key is not in the keyring.
    case missing = 1
    case expired = 2
    case revoked = 3
    /// Disabled, invalid or without an encryption-capable subkey.
    case unusable = 4
}

/// A counsellor reply that waits for a usable client key, decrypted for release: the inner MIME part as stored
/// (protected headers and text) and its Message-ID.
public struct HeldReply: Sendable, CustomStringConvertible {
    public var message: StoredMessageID
    /// The Message-ID the reply was written with (its protected headers carry it too).
    public var messageID: String
    /// The stored inner MIME part, ready to encrypt.
    public var body: [UInt8]
    public var heldAt: Date
    public var problem: HeldReplyProblem

    public var description: String { "HeldReply(\(message), \(problem))" }
}
