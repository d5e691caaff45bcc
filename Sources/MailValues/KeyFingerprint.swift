// Security: a client's OpenPGP key fingerprint identifies a person (it links to the key's user IDs). `description`
// is redacted; the store keeps it sealed and looks it up only through a keyed HMAC.

/// An OpenPGP key fingerprint: 40 hex digits (v4) or 64 (v5/v6), held upper-case.
///
/// One type for the whole gateway: PGPShim reports signers and recipients with it, ThreadStore stores it, the
/// daemon compares it. ``unredactedDescription`` gives the hex string for the keyring, the store and the wire.
///
/// ```swift
/// let fingerprint = try KeyFingerprint("0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567")
/// print(fingerprint)          // "<fingerprint>"
/// print(fingerprint.keyID)    // "89ABCDEF01234567"
/// ```
public struct KeyFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The fingerprint as upper-case hex, without spaces.
    public let hex: String

    /// Accepts 40 or 64 hex digits in either case; spaces are ignored (as `gpg --fingerprint` prints them).
    public init(_ text: String) throws(InvalidFingerprint) {
        let compact = text.filter { $0 != " " }.uppercased()
        guard compact.utf8.count == 40 || compact.utf8.count == 64,
            compact.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isASCIIHexDigit })
        else { throw InvalidFingerprint() }
        self.hex = compact
    }

    /// The 64-bit key ID: the low 16 hex digits of a v4 fingerprint, the high 16 of a v5/v6 one (RFC 9580 §5.5.4).
    public var keyID: String {
        hex.utf8.count == 40 ? String(hex.suffix(16)) : String(hex.prefix(16))
    }

    /// The hex string in clear.
    public var unredactedDescription: String { hex }
    public var description: String { "<fingerprint>" }

}

/// The text was not an OpenPGP fingerprint (40 or 64 hex digits). Carries no part of the text.
public struct InvalidFingerprint: Error, Hashable, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "not an OpenPGP fingerprint (expected 40 or 64 hex digits)" }
}
