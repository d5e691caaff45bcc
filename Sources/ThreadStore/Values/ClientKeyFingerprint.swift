// Security: a client's OpenPGP key fingerprint identifies a person (it links to the key's user IDs). It is stored
// sealed, and looked up only through a keyed HMAC; `description` is redacted.

/// The fingerprint of a client's OpenPGP key: 40 (v4) or 64 (v5/v6) hex characters, stored upper-case.
///
/// ThreadStore defines its own type so it does not depend on PGPShim; MailBridge converts between the two.
///
/// ```swift
/// let fpr = try ClientKeyFingerprint("0123456789ABCDEF0123456789ABCDEF01234567")
/// ```
public struct ClientKeyFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The fingerprint as upper-case hex.
    public let hex: String

    /// Validates 40 or 64 hex characters (either case; no spaces).
    public init(_ text: String) throws(ThreadStoreError) {
        guard text.utf8.count == 40 || text.utf8.count == 64, text.utf8.allSatisfy(isHexDigit) else {
            throw .invalidIdentifier
        }
        hex = text.uppercased()
    }

    /// The fingerprint in clear.
    public var unredactedDescription: String { hex }
    public var description: String { "<key-fingerprint>" }
}
