/// Why an outgoing mail could not be built. The description never repeats input values.
public struct BuilderError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The platform link is not an `https://` URL of printable ASCII.
        case invalidLink
        /// An opaque reference holds characters outside `[A-Za-z0-9._-]` or is too long.
        case invalidReference
        /// A template file is unreadable or not `Subject: …`, empty line, body.
        case invalidTemplate
        /// The payload is not exactly one ASCII-armored OpenPGP message.
        case invalidArmor
        /// The Message-ID domain is not a host name.
        case invalidDomain
        /// A rendered line is longer than 998 octets or not CRLF-terminated (RFC 5322 §2.1.1).
        case lineTooLong
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "BuilderError(\(code))" }
}
