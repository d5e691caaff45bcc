// Security: a counselling field names a service mailbox (for example "sucht" or "schwangerschaft"). It is
// configuration, stored in clear so threads can be listed without decrypting; next to a person it would reveal
// the topic of their counselling, so `description` is redacted.

/// A counselling field (service mailbox) that threads belong to: 1 to 64 characters of `a-z 0-9 . _ -`.
public struct CounsellingField: Hashable, Sendable, CustomStringConvertible {
    /// The field name in clear.
    public let rawValue: String

    /// The longest accepted field name.
    public static let maximumLength = ShortName.maximumLength

    /// Validates a field name. Upper-case ASCII letters are lower-cased.
    public init(_ text: String) throws(ThreadStoreError) { rawValue = try ShortName.validated(text) }

    /// The field name in clear.
    public var unredactedDescription: String { rawValue }
    public var description: String { "<field>" }

    /// `fields` as one JSON array of strings, sorted, for SQLite's `json_each` (a field name needs no escaping).
    static func jsonArray(_ fields: Set<CounsellingField>) -> String {
        "[" + fields.map { "\"\($0.rawValue)\"" }.sorted().joined(separator: ",") + "]"
    }
}

/// A client's mail address, as the canonical text MailBridge matched it with. Stored only sealed.
///
/// ThreadStore does not parse addresses (MailBridge's `EmailAddress` does); it only bounds the length and
/// refuses control characters.
public struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address in clear.
    public let unredactedDescription: String
    /// RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
    public static let maximumLength = 256

    /// The form the client registry is keyed on (keyed HMAC): the caller's canonical form of the address
    /// (Unicode-normalised, IDNA domain), or the text lower-cased.
    public let matchingKey: String

    /// Accepts 1 to 256 octets without control characters. `canonical`: how the address is compared (the mail
    /// layer's canonical form); by default the text lower-cased.
    public init(_ text: String, canonical: String? = nil) throws(ThreadStoreError) {
        guard !text.isEmpty, text.utf8.count <= Self.maximumLength,
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
            (canonical?.utf8.count ?? 0) <= 4 * Self.maximumLength
        else { throw .invalidValue }
        unredactedDescription = text
        matchingKey = canonical ?? text.lowercased()
    }

    public var description: String { "<address>" }
}

/// The names configuration gives to fields and organisations: 1 to 64 characters of `a-z 0-9 . _ -`, lower-cased.
enum ShortName {
    static let maximumLength = 64

    /// `text` lower-cased, or ``ThreadStoreError/invalidValue``.
    static func validated(_ text: String) throws(ThreadStoreError) -> String {
        let lowered = text.lowercased()
        guard !lowered.isEmpty, lowered.utf8.count <= maximumLength,
            lowered.utf8.allSatisfy({
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            })
        else { throw .invalidValue }
        return lowered
    }
}
