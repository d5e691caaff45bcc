// Security: identifiers arrive from the web inbox (URLs) and the database; they validate on init.
// They are opaque random values: they carry no content, but a thread ID names a counselling relationship,
// so `description` stays redacted and only `unredactedDescription` prints the value.

/// 128 random bits as 32 lower-case hex characters; shared by the identifier types below.
struct RandomHex128: Hashable, Sendable {
    let text: String

    static func random() -> RandomHex128 {
        var generator = SystemRandomNumberGenerator()  // CSPRNG (getrandom(2) on Linux)
        let words = (generator.next() as UInt64, generator.next() as UInt64)
        let hex = hex64(words.0) + hex64(words.1)
        return RandomHex128(text: hex)
    }

    init(text: String) { self.text = text }

    /// Accepts exactly 32 hex characters (either case), canonicalises to lower case.
    init(validating text: String) throws(ThreadStoreError) {
        guard text.utf8.count == 32, text.utf8.allSatisfy(isHexDigit) else { throw .invalidIdentifier }
        self.text = text.lowercased()
    }

    private static func hex64(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

@inline(__always)
func isHexDigit(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
}

/// The opaque, random ID of a counselling thread (128 bits, 32 lower-case hex characters).
///
/// ```swift
/// let id = try ThreadID("3f2a...")          // validates; throws ThreadStoreError.invalidIdentifier
/// print(id)                                 // "<thread>"
/// print(id.unredactedDescription)           // "3f2a..."
/// ```
public struct ThreadID: Hashable, Sendable, CustomStringConvertible {
    let raw: RandomHex128
    /// Validates a thread ID from text (e.g. from a web inbox URL).
    public init(_ text: String) throws(ThreadStoreError) { raw = try RandomHex128(validating: text) }
    init(raw: RandomHex128) { self.raw = raw }
    static func random() -> ThreadID { ThreadID(raw: .random()) }
    /// The ID in clear, for URLs and the database.
    public var unredactedDescription: String { raw.text }
    public var description: String { "<thread>" }
}

/// The opaque, random ID of a stored message.
public struct StoredMessageID: Hashable, Sendable, CustomStringConvertible {
    let raw: RandomHex128
    /// Validates a message ID from text.
    public init(_ text: String) throws(ThreadStoreError) { raw = try RandomHex128(validating: text) }
    init(raw: RandomHex128) { self.raw = raw }
    static func random() -> StoredMessageID { StoredMessageID(raw: .random()) }
    /// The ID in clear.
    public var unredactedDescription: String { raw.text }
    public var description: String { "<message>" }
}

/// The opaque, random ID of an outbox item (a queued outbound mail).
public struct OutboxItemID: Hashable, Sendable, CustomStringConvertible {
    let raw: RandomHex128
    /// Validates an outbox item ID from text.
    public init(_ text: String) throws(ThreadStoreError) { raw = try RandomHex128(validating: text) }
    init(raw: RandomHex128) { self.raw = raw }
    static func random() -> OutboxItemID { OutboxItemID(raw: .random()) }
    /// The ID in clear.
    public var unredactedDescription: String { raw.text }
    public var description: String { "<outbox-item>" }
}
