/// The MAIL FROM parameters this server implements (RFC 5321 §4.1.1.11 esmtp-param).
public struct MailParameters: Hashable, Sendable {
    /// The BODY parameter (RFC 6152 §2).
    public enum Body: Hashable, Sendable {
        case sevenBit
        case eightBitMIME
    }

    /// SIZE=<octets> the client announces (RFC 1870 §5).
    public var size: Int?
    /// BODY=7BIT or BODY=8BITMIME (RFC 6152).
    public var body: Body?
    /// SMTPUTF8: the transaction may carry UTF-8 addresses and headers (RFC 6531 §3.4).
    public var smtpUTF8: Bool

    public init(size: Int? = nil, body: Body? = nil, smtpUTF8: Bool = false) {
        self.size = size
        self.body = body
        self.smtpUTF8 = smtpUTF8
    }
}
