// Security: an organisation's ID names a counselling provider hosted on the installation (issue 29). It is
// configuration, stored in clear next to the accounts it owns so that access is decided without opening anything;
// it is not client data, but `description` stays redacted like every other identifier, so that a stray log line
// does not tell which provider a request or an account belongs to.

/// The stable ID of an organisation (`[[organisation]] id`): 1 to 64 characters of `a-z 0-9 . _ -`.
public struct OrganisationID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The ID in clear.
    public let rawValue: String

    /// The longest accepted ID.
    public static let maximumLength = 64

    /// Validates an ID. Upper-case ASCII letters are lower-cased.
    public init(_ text: String) throws(ThreadStoreError) {
        let lowered = text.lowercased()
        guard !lowered.isEmpty, lowered.utf8.count <= Self.maximumLength,
            lowered.utf8.allSatisfy({
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            })
        else { throw .invalidValue }
        rawValue = lowered
    }

    public static func < (lhs: OrganisationID, rhs: OrganisationID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The ID in clear.
    public var unredactedDescription: String { rawValue }
    public var description: String { "<organisation>" }
}
