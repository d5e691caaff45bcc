public import MailValues

/// One SMTP command from the client (RFC 5321 §4.1.1), already syntax-checked by ``SMTPCommandParser``.
/// Paths are typed values, never strings; `description` is redacted.
public enum SMTPCommand: Hashable, Sendable, CustomStringConvertible {
    /// EHLO domain (RFC 5321 §4.1.1.1).
    case ehlo(String)
    /// HELO domain (RFC 5321 §4.1.1.1).
    case helo(String)
    /// MAIL FROM:<reverse-path> [params] (RFC 5321 §4.1.1.2).
    case mailFrom(ReversePath, parameters: MailParameters)
    /// RCPT TO:<forward-path> (RFC 5321 §4.1.1.3). No RCPT parameters are implemented.
    case rcptTo(EmailAddress)
    /// DATA (RFC 5321 §4.1.1.4).
    case data
    /// RSET (RFC 5321 §4.1.1.5).
    case rset
    /// VRFY string (RFC 5321 §4.1.1.6); answered 252 without looking anything up (RFC 5321 §3.5.3).
    case vrfy
    /// HELP [string] (RFC 5321 §4.1.1.8).
    case help
    /// NOOP [string] (RFC 5321 §4.1.1.9).
    case noop
    /// QUIT (RFC 5321 §4.1.1.10).
    case quit
    /// STARTTLS (RFC 3207 §4).
    case startTLS

    /// Commands that move no mail (NOOP, RSET, HELP, VRFY): never progress, and limited per session.
    public var isJunk: Bool {
        switch self {
        case .noop, .rset, .help, .vrfy: true
        default: false
        }
    }

    /// The verb only: safe for logs.
    public var verb: String {
        switch self {
        case .ehlo: "EHLO"
        case .helo: "HELO"
        case .mailFrom: "MAIL"
        case .rcptTo: "RCPT"
        case .data: "DATA"
        case .rset: "RSET"
        case .vrfy: "VRFY"
        case .help: "HELP"
        case .noop: "NOOP"
        case .quit: "QUIT"
        case .startTLS: "STARTTLS"
        }
    }

    public var description: String { verb }
}
