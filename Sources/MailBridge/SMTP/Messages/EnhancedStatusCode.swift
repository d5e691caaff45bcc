/// An enhanced mail system status code `class.subject.detail` (RFC 3463, announced by ENHANCEDSTATUSCODES, RFC 2034).
public struct EnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
    /// 2 success, 4 persistent transient failure, 5 permanent failure (RFC 3463 §3.1).
    public let statusClass: Int
    public let subject: Int
    public let detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        precondition([2, 4, 5].contains(statusClass) && subject >= 0 && detail >= 0)
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// X.0.0 Other undefined status (RFC 3463 §3.2).
    public static let success = EnhancedStatusCode(2, 0, 0)
    /// 2.1.0 Other address status: sender accepted (RFC 3463 §3.2).
    public static let senderOK = EnhancedStatusCode(2, 1, 0)
    /// 2.1.5 Destination address valid (RFC 3463 §3.2).
    public static let recipientOK = EnhancedStatusCode(2, 1, 5)
    /// 2.5.0 Other or undefined protocol status (RFC 3463 §3.6).
    public static let protocolOK = EnhancedStatusCode(2, 5, 0)
    /// 2.6.0 Message content accepted (RFC 3463 §3.7).
    public static let messageAccepted = EnhancedStatusCode(2, 6, 0)
    /// 4.3.0 Other or undefined mail system status (RFC 3463 §3.4).
    public static let temporarySystemError = EnhancedStatusCode(4, 3, 0)
    /// 4.3.2 System not accepting network messages (RFC 3463 §3.4): shutting down.
    public static let systemNotAccepting = EnhancedStatusCode(4, 3, 2)
    /// 4.4.2 Bad connection (RFC 3463 §3.5): timeouts.
    public static let badConnection = EnhancedStatusCode(4, 4, 2)
    /// 4.5.3 Too many recipients (RFC 3463 §3.6; RFC 5321 §4.5.3.1.10).
    public static let tooManyRecipients = EnhancedStatusCode(4, 5, 3)
    /// 4.7.0 Other or undefined security status (RFC 3463 §3.8): connection limits, too many errors.
    public static let temporarySecurityFailure = EnhancedStatusCode(4, 7, 0)
    /// 5.1.1 Bad destination mailbox address (RFC 3463 §3.3).
    public static let badDestinationMailbox = EnhancedStatusCode(5, 1, 1)
    /// 5.1.3 Bad destination mailbox address syntax (RFC 3463 §3.3).
    public static let badDestinationSyntax = EnhancedStatusCode(5, 1, 3)
    /// 5.1.7 Bad sender's mailbox address syntax (RFC 3463 §3.3).
    public static let badSenderSyntax = EnhancedStatusCode(5, 1, 7)
    /// 5.3.4 Message too big for system (RFC 3463 §3.4).
    public static let messageTooBig = EnhancedStatusCode(5, 3, 4)
    /// 5.5.1 Invalid command (RFC 3463 §3.6).
    public static let invalidCommand = EnhancedStatusCode(5, 5, 1)
    /// 5.5.2 Syntax error (RFC 3463 §3.6).
    public static let syntaxError = EnhancedStatusCode(5, 5, 2)
    /// 5.5.4 Invalid command arguments (RFC 3463 §3.6).
    public static let invalidArguments = EnhancedStatusCode(5, 5, 4)
    /// 5.6.0 Other or undefined media error (RFC 3463 §3.7): malformed message content such as bare CR/LF.
    public static let mediaError = EnhancedStatusCode(5, 6, 0)
    /// 5.6.7 Non-ASCII addresses not permitted for that sender/recipient (RFC 6531 §3.5).
    public static let nonASCIIAddressNotPermitted = EnhancedStatusCode(5, 6, 7)
    /// 5.7.0 Other or undefined security status (RFC 3463 §3.8).
    public static let securityError = EnhancedStatusCode(5, 7, 0)
}
