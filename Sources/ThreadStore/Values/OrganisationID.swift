// Security: an organisation's ID names a counselling provider hosted on the installation (issue 29). It is
// configuration, stored in clear next to the accounts it owns so that access is decided without opening anything;
// it is not client data, but `description` stays redacted like every other identifier, so that a stray log line
// does not tell which provider a request or an account belongs to.

/// The stable ID of an organisation (`[[organisation]] id`): 1 to 64 characters of `a-z 0-9 . _ -`.
public struct OrganisationID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The ID in clear.
    public let rawValue: String

    /// The longest accepted ID.
    public static let maximumLength = ShortName.maximumLength

    /// Validates an ID. Upper-case ASCII letters are lower-cased.
    public init(_ text: String) throws(ThreadStoreError) { rawValue = try ShortName.validated(text) }

    public static func < (lhs: OrganisationID, rhs: OrganisationID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The ID in clear.
    public var unredactedDescription: String { rawValue }
    public var description: String { "<organisation>" }
}
