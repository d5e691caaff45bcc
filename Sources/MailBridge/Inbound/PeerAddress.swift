/// The IP address of the SMTP client. Personal data: `description` is redacted.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address in clear, e.g. "192.0.2.1" or "2001:db8::1".
    public let unredactedDescription: String

    public init(_ ipAddress: String) {
        unredactedDescription = ipAddress
    }

    public var description: String { "<client-ip>" }
}
