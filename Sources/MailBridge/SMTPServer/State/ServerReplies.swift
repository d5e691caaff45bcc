/// Fixed replies of the inbound server. None of them echoes client input.
extension SMTPReply {
    /// 421 4.3.2: graceful shutdown (RFC 5321 §3.8; mox answers this way too).
    public static let shuttingDown = SMTPReply(
        .serviceNotAvailable,
        .systemNotAccepting,
        "shutting down, try again later"
    )
    /// 421 4.4.2: a per-command, data-rate or session deadline passed (RFC 5321 §4.5.3.2).
    public static let timedOut = SMTPReply(.serviceNotAvailable, .badConnection, "timeout, closing connection")
    /// 421 4.7.0: per-IP or total connection limit.
    public static let tooManyConnections = SMTPReply(
        .serviceNotAvailable,
        .temporarySecurityFailure,
        "too many connections, try again later"
    )
    /// 421 4.7.0: the per-connection error limit was reached.
    public static let tooManyErrors = SMTPReply(
        .serviceNotAvailable,
        .temporarySecurityFailure,
        "too many errors, closing connection"
    )
    /// 421 4.7.0: the per-connection command limit was reached.
    public static let tooManyCommands = SMTPReply(
        .serviceNotAvailable,
        .temporarySecurityFailure,
        "too many commands, closing connection"
    )
    /// 421 4.7.0: stress mode closed a client that made no progress, or the non-mail command limit was reached.
    public static let idleUnderLoad = SMTPReply(
        .serviceNotAvailable,
        .temporarySecurityFailure,
        "too busy for idle sessions, try again later"
    )
    /// 503 5.5.0-style refusal: the client sent more after DATA without waiting for 354 (RFC 2920 §3.1: DATA
    /// ends a pipelined group; Postfix `reject_unauth_pipelining`). The connection is closed, since what follows
    /// would be read as commands or as message text out of step.
    public static let improperPipelining = SMTPReply(
        .badSequence,
        .invalidCommand,
        "improper use of SMTP command pipelining, closing",
        isClientFault: true
    )
    /// 421 4.3.0: an internal error (state machine misuse); the connection is closed.
    public static let internalError = SMTPReply(.serviceNotAvailable, .temporarySystemError, "internal error, closing")
    /// 451 4.3.0: the message could not be stored durably (RFC 5321 §4.2.3; STYLE.md §10).
    public static let storageFailed = SMTPReply(
        .localError,
        .temporarySystemError,
        "could not store message, try again later"
    )
    /// 554 5.5.0-style refusal when bytes follow STARTTLS before the TLS handshake (RFC 3207 §4.2, §5 injection).
    public static let pipelinedAfterStartTLS = SMTPReply(
        .transactionFailed,
        .securityError,
        "data after STARTTLS not allowed, closing",
        isClientFault: true
    )
}
