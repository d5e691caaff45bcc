/// A Message-ID we refer to in `In-Reply-To` and `References` (RFC 5322 §3.6.4): `<…>` of printable ASCII
/// without spaces, at most 250 octets, so it can never carry header syntax. Only the outer Message-ID of an
/// inbound mail (never a decrypted header) is used here.
public struct ReferencedMessageID: Sendable, Hashable, CustomStringConvertible {
    /// The field value including angle brackets.
    public let value: String

    /// Returns nil for anything that is not a plain `<id>`.
    public init?(_ value: String) {
        let bytes = Array(value.utf8)
        guard bytes.count >= 3, bytes.count <= 250, bytes.first == UInt8(ascii: "<"), bytes.last == UInt8(ascii: ">"),
            bytes.dropFirst().dropLast().allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<")
                && $0 != UInt8(ascii: ">") })
        else { return nil }
        self.value = value
    }

    /// A Message-ID can reveal a client's host or address: redacted.
    public var description: String { "<referenced-message-id>" }
}
