/// The counselling platform URL put into redirect mails. Only `https://` and printable ASCII without spaces,
/// at most 512 characters, so it can never carry header syntax or message text.
public struct PlatformLink: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init(_ value: String) throws(BuilderError) {
        guard value.hasPrefix("https://"), value.utf8.count > 8, value.utf8.count <= 512,
            value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") })
        else { throw BuilderError(.invalidLink) }
        self.value = value
    }

    /// The link is configuration, not personal data.
    public var description: String { value }
}
