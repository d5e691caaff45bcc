import Foundation
public import MailValues
public import NIOCore

/// A command the client sends (RFC 5321 §4.1.1, RFC 3207 §4, RFC 4954 §4). Built from typed values, never from
/// interpolated user strings; `description` shows the verb only (no addresses, no credentials).
public enum SMTPClientCommand: Hashable, Sendable, CustomStringConvertible {
    case ehlo(String)
    case helo(String)
    case startTLS
    /// AUTH PLAIN with an initial response (RFC 4954 §4, RFC 4616 §2).
    case authPlain(SMTPCredentials)
    /// AUTH LOGIN; user name and password follow as ``loginUsername`` and ``loginPassword``.
    case authLogin
    case loginUsername(SMTPCredentials)
    case loginPassword(SMTPCredentials)
    case mailFrom(ReversePath, size: Int?, eightBitMIME: Bool, smtpUTF8: Bool)
    case rcptTo(EmailAddress)
    case data
    case quit

    public var description: String {
        switch self {
        case .ehlo: "EHLO"
        case .helo: "HELO"
        case .startTLS: "STARTTLS"
        case .authPlain: "AUTH PLAIN <redacted>"
        case .authLogin: "AUTH LOGIN"
        case .loginUsername, .loginPassword: "<redacted>"
        case .mailFrom: "MAIL"
        case .rcptTo: "RCPT"
        case .data: "DATA"
        case .quit: "QUIT"
        }
    }

    /// True for commands that carry credentials (logged only at an opt-in trace level, STYLE.md §15).
    public var carriesSecret: Bool {
        switch self {
        case .authPlain, .loginUsername, .loginPassword: true
        default: false
        }
    }

    /// The command line with CRLF.
    public var wireBytes: ByteBuffer {
        var line: String
        switch self {
        case .ehlo(let name): line = "EHLO \(name)"
        case .helo(let name): line = "HELO \(name)"
        case .startTLS: line = "STARTTLS"
        case .authPlain(let credentials):
            // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
            let message = [0] + Array(credentials.username.utf8) + [0] + Array(credentials.password.utf8)
            line = "AUTH PLAIN " + Data(message).base64EncodedString()
        case .authLogin: line = "AUTH LOGIN"
        case .loginUsername(let credentials): line = Data(credentials.username.utf8).base64EncodedString()
        case .loginPassword(let credentials): line = Data(credentials.password.utf8).base64EncodedString()
        case .mailFrom(let path, let size, let eightBit, let utf8):
            // RFC 5321 §4.1.1.2; SIZE (RFC 1870 §3), BODY=8BITMIME (RFC 6152 §2), SMTPUTF8 (RFC 6531 §3.4)
            line = "MAIL FROM:<\(path.unredactedDescription)>"
            if let size { line += " SIZE=\(size)" }
            if eightBit { line += " BODY=8BITMIME" }
            if utf8 { line += " SMTPUTF8" }
        case .rcptTo(let address): line = "RCPT TO:<\(address.unredactedDescription)>"  // RFC 5321 §4.1.1.3
        case .data: line = "DATA"
        case .quit: line = "QUIT"
        }
        precondition(!line.utf8.contains(13) && !line.utf8.contains(10), "command lines never hold CR or LF")
        var buffer = ByteBuffer()
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
