import MailValues

/// Rendered bytes of a plain outgoing mail. The only initializer takes a ``TemplateMail``, so a plain mail
/// can never be built from other text. The SMTP layer dot-stuffs on output (RFC 5321 §4.5.2).
public struct PlainOutgoingMail: Sendable, CustomStringConvertible {
    /// The message, CRLF line ends, no line over 998 octets.
    public let bytes: [UInt8]
    /// True if an address is non-ASCII, so delivery needs SMTPUTF8 (RFC 6531); the header is then UTF-8
    /// (RFC 6532 §3.2).
    public let requiresSMTPUTF8: Bool

    public init(_ mail: TemplateMail) throws(BuilderError) {
        bytes = try mail.render()
        requiresSMTPUTF8 = !(mail.from.unredactedDescription + mail.to.unredactedDescription).allSatisfy(\.isASCII)
    }

    public var description: String { "PlainOutgoingMail(\(bytes.count) bytes)" }
}
