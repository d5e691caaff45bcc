/// The outcome of one delivery attempt. A value, not an exception: the queue switches on it (STYLE.md §7).
///
/// ```swift
/// switch await client.deliver(envelope, message: bytes) {
/// case .delivered: try await store.markDelivered(id)
/// case .temporaryFailure(let failure): try await store.markRetry(id, nextAttempt: next, lastError: failure.code)
/// case .permanentFailure(let failure): try await store.markFailed(id, reason: failure)
/// }
/// ```
public enum DeliveryResult: Hashable, Sendable, CustomStringConvertible {
    /// The server accepted the message at end of data (250, RFC 5321 §4.1.1.4).
    case delivered(ReplyCode, EnhancedStatusCode?)
    /// 4xx, connection error, timeout, TLS required but unavailable: try again later (RFC 5321 §4.5.4.1).
    case temporaryFailure(DeliveryFailure)
    /// 5xx or a message that can never be sent as it is: do not retry (RFC 5321 §4.2.1).
    case permanentFailure(DeliveryFailure)

    /// Classifies a failure by its code and reply.
    public init(failure: DeliveryFailure) {
        self = failure.isPermanent ? .permanentFailure(failure) : .temporaryFailure(failure)
    }

    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }

    public var failure: DeliveryFailure? {
        switch self {
        case .delivered: nil
        case .temporaryFailure(let failure), .permanentFailure(let failure): failure
        }
    }

    public var description: String {
        switch self {
        case .delivered(let code, let enhanced): "delivered \(code)\(enhanced.map { " \($0)" } ?? "")"
        case .temporaryFailure(let failure): "temporary failure: \(failure)"
        case .permanentFailure(let failure): "permanent failure: \(failure)"
        }
    }
}

/// The step of the client dialogue where something happened (RFC 5321 §3.3, RFC 3207 §4, RFC 4954 §4).
public enum SMTPClientStep: String, Hashable, Sendable {
    case connect, greeting, ehlo, helo, startTLS, tlsHandshake, auth, mailFrom, rcptTo, data, endOfData, quit
}

/// Why a delivery attempt did not succeed. Holds codes only, never server text or addresses, so it can be logged
/// and stored. Equality is by all fields (they are all codes).
public struct DeliveryFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The server refused with a 4xx/5xx reply; see `reply`.
        case rejected
        /// 421: the server is closing the channel (RFC 5321 §3.8).
        case serverClosing
        case connectionFailed
        /// The connection ended before the dialogue did. After end of data this is ambiguous (RFC 5321 §4.1.1.4
        /// note; RFC 1047): the message may have arrived, so it is retried and may be duplicated.
        case connectionClosed
        /// A step or the whole delivery took too long (RFC 5321 §4.5.3.2).
        case timeout
        /// The configuration requires STARTTLS and the server did not offer it or refused it (RFC 3207 §4).
        case tlsRequiredButUnavailable
        /// The TLS handshake failed: untrusted certificate, wrong host name, protocol error, or plaintext
        /// injected after the STARTTLS reply (RFC 3207 §5).
        case tlsFailed
        /// Credentials are configured but there is no TLS, or no mechanism we support (RFC 4954 §4).
        case authenticationUnavailable
        /// A reply broke the grammar or limits of RFC 5321 §4.2, or came where none was expected.
        case malformedReply
        /// The message has bare CR/LF, NUL or an overlong line (RFC 5321 §2.3.8, §4.5.3.1.6): never sent.
        case messageInvalid
        /// Larger than the server's announced SIZE (RFC 1870 §6.1).
        case messageTooLarge
        /// UTF-8 addresses and no SMTPUTF8 (RFC 6531 §3.2).
        case smtpUTF8Unsupported
        /// 8-bit content and no 8BITMIME (RFC 6152 §3).
        case eightBitUnsupported
        /// The client configuration is not allowed (e.g. clear text to a non-loopback host).
        case configurationInvalid
        /// The delivering task was cancelled (process shutting down): nothing is recorded.
        case cancelled
        /// A client bug: an event arrived that the state machine cannot be in.
        case internalError
    }

    public var code: Code
    public var step: SMTPClientStep?
    public var reply: ReplyCode?
    public var enhanced: EnhancedStatusCode?

    public init(
        _ code: Code, step: SMTPClientStep? = nil, reply: ReplyCode? = nil, enhanced: EnhancedStatusCode? = nil
    ) {
        self.code = code
        self.step = step
        self.reply = reply
        self.enhanced = enhanced
    }

    /// A refusal reply at a step; 421 becomes ``Code/serverClosing``, an unexpected positive reply
    /// ``Code/malformedReply``.
    public static func rejected(_ reply: SMTPReply, at step: SMTPClientStep) -> DeliveryFailure {
        let code: Code =
            reply.code == .serviceNotAvailable ? .serverClosing : reply.code.isPositive ? .malformedReply : .rejected
        return DeliveryFailure(code, step: step, reply: reply.code, enhanced: reply.enhanced)
    }

    /// 5xx replies and problems of the message itself are permanent; everything else is worth a retry.
    public var isPermanent: Bool {
        switch code {
        case .rejected: reply?.isPermanentFailure ?? false
        case .messageInvalid, .messageTooLarge, .smtpUTF8Unsupported, .eightBitUnsupported: true
        default: false
        }
    }

    /// Codes only, e.g. `rejected at rcptTo: 550 5.1.1`.
    public var description: String {
        var text = code.rawValue
        if let step { text += " at \(step.rawValue)" }
        if let reply { text += ": \(reply)" }
        if let enhanced { text += " \(enhanced)" }
        return text
    }
}
