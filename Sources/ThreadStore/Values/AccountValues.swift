// Security: account IDs arrive from session rows, API tokens and URLs; they validate on init. Staff accounts
// are not client data, but `description` stays redacted like every other identifier.

/// The opaque, random ID of a counsellor account (128 bits, 32 lower-case hex characters).
public struct AccountID: Hashable, Sendable, CustomStringConvertible {
    let raw: RandomHex128
    /// Validates an account ID from text.
    public init(_ text: String) throws(ThreadStoreError) { raw = try RandomHex128(validating: text) }
    init(raw: RandomHex128) { self.raw = raw }
    static func random() -> AccountID { AccountID(raw: .random()) }
    /// The ID in clear, for the database and URLs.
    public var unredactedDescription: String { raw.text }
    public var description: String { "<account>" }
}

/// What an account may do on the counsellor side.
public enum CounsellorRole: Int, Hashable, Sendable, CaseIterable {
    /// Reads and answers threads of its counselling fields.
    case counsellor = 0
    /// Team lead / administrator: sees every field, assigns threads, deletes threads.
    case teamLead = 1
}

/// The language of the web interface for an account.
public enum InterfaceLanguage: String, Hashable, Sendable, CaseIterable {
    case german = "de"
    case english = "en"
}
