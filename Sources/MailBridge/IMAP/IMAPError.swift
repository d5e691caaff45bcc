/// An IMAP fetch failure. Carries what went wrong and libetpan's numeric result, never a server text, address,
/// password or message content.
public struct IMAPError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// TCP connect or TLS handshake failed.
        case connect
        /// The server certificate chain did not verify against the CA file, or not for the expected host name.
        case certificateRejected
        /// The CA file could not be loaded.
        case trustAnchors
        /// STARTTLS was not offered or failed; MailBridge never continues in plain text.
        case startTLSUnavailable
        /// A LOGIN was attempted on a connection without verified TLS (refused before anything is sent).
        case plaintextLoginRefused
        /// The server greeted with PREAUTH on a plain connection (STARTTLS stripping, RFC 9051 §11.1).
        case preauthWithoutTLS
        case login
        case select
        case fetch
        case store
        case move
        case expunge
        /// The server sent something libetpan could not parse; the connection is closed.
        case malformedResponse
        /// The connection broke (read/write failed, timeout).
        case stream
        /// The password file could not be read.
        case passwordFile
        case notConnected
    }

    public var code: Code
    /// libetpan's `MAILIMAP_ERROR_*` value (or 0).
    public var status: Int32

    public init(_ code: Code, status: Int32 = 0) {
        self.code = code
        self.status = status
    }

    public static func == (lhs: IMAPError, rhs: IMAPError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public static let certificateRejected = IMAPError(.certificateRejected)
    public static let plaintextLoginRefused = IMAPError(.plaintextLoginRefused)
    public static let startTLSUnavailable = IMAPError(.startTLSUnavailable)

    public var description: String { "IMAP \(code.rawValue) failed (status \(status))" }
}
