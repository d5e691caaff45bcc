public import MailValues

/// The reverse-path of MAIL FROM (RFC 5321 §4.1.2): the null path `<>` (bounces, RFC 5321 §4.5.5) or a mailbox.
/// Redacted in `description`, like ``EmailAddress``.
public enum ReversePath: Hashable, Sendable, CustomStringConvertible {
    case null
    case mailbox(EmailAddress)

    /// The mailbox, or nil for the null path.
    public var address: EmailAddress? {
        if case .mailbox(let address) = self { return address }
        return nil
    }

    public var description: String {
        switch self {
        case .null: "<>"
        case .mailbox: "<address>"
        }
    }

    /// The path in clear, for the envelope file only.
    public var unredactedDescription: String {
        switch self {
        case .null: ""
        case .mailbox(let address): address.unredactedDescription
        }
    }
}
