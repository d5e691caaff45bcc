/// A three-digit SMTP reply code (RFC 5321 §4.2). Named constants carry their RFC reference.
public struct ReplyCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    public init(_ rawValue: Int) {
        precondition((200...599).contains(rawValue), "SMTP reply codes are 2xx-5xx")
        self.rawValue = rawValue
    }

    /// 2yz positive completion, 3yz intermediate, 4yz transient failure, 5yz permanent failure (RFC 5321 §4.2.1).
    public var isPositive: Bool { rawValue < 400 }
    public var isTransientFailure: Bool { (400..<500).contains(rawValue) }
    public var isPermanentFailure: Bool { rawValue >= 500 }

    public var description: String { String(rawValue) }

    /// 214 Help message (RFC 5321 §4.2.3).
    public static let helpMessage = ReplyCode(214)
    /// 220 <domain> Service ready (RFC 5321 §4.2.3); also "Ready to start TLS" (RFC 3207 §4).
    public static let serviceReady = ReplyCode(220)
    /// 221 Service closing transmission channel (RFC 5321 §4.2.3).
    public static let closing = ReplyCode(221)
    /// 250 Requested mail action okay, completed (RFC 5321 §4.2.3).
    public static let ok = ReplyCode(250)
    /// 252 Cannot VRFY user, but will accept message and attempt delivery (RFC 5321 §3.5.3, §4.2.3).
    public static let cannotVerify = ReplyCode(252)
    /// 354 Start mail input; end with <CRLF>.<CRLF> (RFC 5321 §4.2.3).
    public static let startMailInput = ReplyCode(354)
    /// 421 Service not available, closing transmission channel (RFC 5321 §4.2.3, §3.8).
    public static let serviceNotAvailable = ReplyCode(421)
    /// 451 Requested action aborted: local error in processing (RFC 5321 §4.2.3).
    public static let localError = ReplyCode(451)
    /// 452 Requested action not taken: insufficient system storage; also too many recipients (RFC 5321 §4.5.3.1.10).
    public static let insufficientStorage = ReplyCode(452)
    /// 454 TLS not available due to temporary reason (RFC 3207 §4).
    public static let tlsNotAvailable = ReplyCode(454)
    /// 500 Syntax error, command unrecognized; also "line too long" (RFC 5321 §4.2.3, §4.5.3.1.4).
    public static let syntaxError = ReplyCode(500)
    /// 501 Syntax error in parameters or arguments (RFC 5321 §4.2.3).
    public static let parameterSyntaxError = ReplyCode(501)
    /// 502 Command not implemented (RFC 5321 §4.2.3).
    public static let commandNotImplemented = ReplyCode(502)
    /// 503 Bad sequence of commands (RFC 5321 §4.2.3).
    public static let badSequence = ReplyCode(503)
    /// 550 Requested action not taken: mailbox unavailable (RFC 5321 §4.2.3).
    public static let mailboxUnavailable = ReplyCode(550)
    /// 552 Requested mail action aborted: exceeded storage allocation (RFC 5321 §4.2.3; message size, RFC 1870 §6).
    public static let exceededStorage = ReplyCode(552)
    /// 553 Requested action not taken: mailbox name not allowed (RFC 5321 §4.2.3; RFC 6531 §3.5).
    public static let mailboxNameNotAllowed = ReplyCode(553)
    /// 554 Transaction failed (RFC 5321 §4.2.3).
    public static let transactionFailed = ReplyCode(554)
    /// 555 MAIL FROM/RCPT TO parameters not recognized or not implemented (RFC 5321 §4.2.3).
    public static let parametersNotRecognized = ReplyCode(555)
}
