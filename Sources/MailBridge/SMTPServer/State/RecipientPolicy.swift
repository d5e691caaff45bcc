public import MailValues

/// Which recipients this server accepts: only the configured counselling addresses (never a relay, RFC 5321 §3.6.2).
///
/// ```swift
/// let policy = RecipientPolicy(accepting: [try EmailAddress("beratung@example.org")])
/// policy.accepts(try EmailAddress("Beratung@EXAMPLE.org"))   // true
/// ```
public struct RecipientPolicy: Sendable {
    private let canonicalAddresses: Set<String>

    public init(accepting addresses: some Sequence<EmailAddress>) {
        canonicalAddresses = Set(addresses.map(\.canonical))
    }

    /// Matches on ``EmailAddress/canonical`` (case-insensitive local part and domain).
    public func accepts(_ address: EmailAddress) -> Bool {
        canonicalAddresses.contains(address.canonical)
    }
}
