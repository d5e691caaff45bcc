/// What the session loop reads from its connection: framed input and connection-level signals, in order.
public enum SMTPInboundEvent: Sendable, Hashable {
    case frame(SMTPFrame)
    /// No read or write for the command timeout (RFC 5321 §4.5.3.2).
    case idleTimeout
    /// The whole-session deadline passed.
    case sessionDeadline
    /// Graceful shutdown was requested (see ``SMTPShutdownSignal``).
    case shutdown
    /// The TLS handshake after STARTTLS completed (RFC 3207 §4.2).
    case tlsEstablished
    /// A periodic tick for the session's own progress check (stress mode); not a sign of inactivity by itself.
    case progressCheck
}

/// Fire this as a user inbound event on a connection's pipeline to ask its session to shut down gracefully.
public struct SMTPShutdownSignal: Sendable, Hashable {
    public init() {}
}
