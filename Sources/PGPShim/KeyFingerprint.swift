/// An OpenPGP key fingerprint: 40 hex digits (v4) or 64 (v5/v6), stored upper-case.
///
/// A client's fingerprint is pseudonymous personal data, so ``description`` is redacted;
/// ``unredactedDescription`` gives the hex string for the keyring, the store and the wire.
public struct KeyFingerprint: Hashable, Sendable, Codable, CustomStringConvertible {
    public let hex: String

    /// Accepts 40 or 64 hex digits; spaces are ignored (as printed by `gpg --fingerprint`).
    public init(_ text: String) throws(PGPError) {
        let compact = text.filter { $0 != " " }.uppercased()
        guard compact.count == 40 || compact.count == 64,
            compact.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit })
        else {
            throw PGPError(.invalidInput, "not an OpenPGP fingerprint (expected 40 or 64 hex digits)")
        }
        self.hex = compact
    }

    /// The 64-bit key ID: the low 16 hex digits of a v4 fingerprint, the high 16 of a v5/v6 one (RFC 9580 §5.5.4).
    public var keyID: String {
        hex.count == 40 ? String(hex.suffix(16)) : String(hex.prefix(16))
    }

    public var unredactedDescription: String { hex }
    public var description: String { "<fingerprint>" }
}
