public import MailValues

/// The SMTP envelope of one outbound message (RFC 5321 §2.3.1): reverse-path and recipients.
/// `description` is redacted; addresses are used in clear only on the wire.
public struct OutboundEnvelope: Hashable, Sendable, CustomStringConvertible {
    /// `.null` for bounces and auto-replies (RFC 5321 §4.5.5, RFC 3834 §3.3).
    public var reversePath: ReversePath
    /// At least one recipient. The delivery is all-or-nothing: if any RCPT is refused, no DATA is sent.
    public var recipients: [EmailAddress]

    public init(reversePath: ReversePath, recipients: [EmailAddress]) {
        precondition(!recipients.isEmpty, "an envelope needs a recipient")
        self.reversePath = reversePath
        self.recipients = recipients
    }

    /// True if any address has non-ASCII characters, which needs SMTPUTF8 (RFC 6531 §3.4).
    public var needsSMTPUTF8: Bool {
        let addresses = recipients + (reversePath.address.map { [$0] } ?? [])
        return addresses.contains { !$0.unredactedDescription.unicodeScalars.allSatisfy(\.isASCII) }
    }

    public var description: String { "envelope(\(reversePath), \(recipients.count) recipient(s))" }
}
