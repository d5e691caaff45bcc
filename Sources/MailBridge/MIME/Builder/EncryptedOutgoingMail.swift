/// Rendered bytes of a PGP/MIME outgoing mail; built only from a ``PGPMIMEMail``. The SMTP layer dot-stuffs.
public struct EncryptedOutgoingMail: Sendable, CustomStringConvertible {
    /// The message, CRLF line ends, no line over 998 octets.
    public let bytes: [UInt8]

    public init(_ mail: PGPMIMEMail) throws(BuilderError) { bytes = try mail.render() }

    public var description: String { "EncryptedOutgoingMail(\(bytes.count) bytes)" }
}
