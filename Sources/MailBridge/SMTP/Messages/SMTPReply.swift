public import NIOCore

/// An SMTP reply, and the error type of the SMTP layer (mox `smtpError`).
///
/// `text` goes on the wire and must never hold personal data (addresses, subjects, content); `underlying` is only
/// for logs and is not compared. Equality is by `code` and `enhanced` only.
///
/// ```swift
/// throw SMTPReply(.badSequence, .invalidCommand, "need MAIL first")
/// ```
public struct SMTPReply: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ReplyCode
    public var enhanced: EnhancedStatusCode?
    /// The text of the (last) reply line. CR and LF are replaced by spaces when encoding.
    public var text: String
    /// Earlier lines of a multi-line reply (RFC 5321 §4.2.1), e.g. EHLO keywords.
    public var precedingLines: [String]
    /// The cause, for logs only. Never written to the client.
    public var underlying: (any Error & Sendable)?
    /// True when the client caused the reply (counts towards the per-connection error limit).
    public var isClientFault: Bool

    public init(
        _ code: ReplyCode,
        _ enhanced: EnhancedStatusCode?,
        _ text: String,
        precedingLines: [String] = [],
        underlying: (any Error & Sendable)? = nil,
        isClientFault: Bool? = nil
    ) {
        self.code = code
        self.enhanced = enhanced
        self.text = text
        self.precedingLines = precedingLines
        self.underlying = underlying
        self.isClientFault = isClientFault ?? (code.rawValue >= 500)
    }

    public static func == (lhs: SMTPReply, rhs: SMTPReply) -> Bool {
        lhs.code == rhs.code && lhs.enhanced == rhs.enhanced
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(enhanced)
    }

    /// The code and enhanced code only (text is not logged to keep logs free of any echoed input).
    public var description: String {
        if let enhanced { return "\(code) \(enhanced)" }
        return "\(code)"
    }

    /// Writes the reply lines, each `code[-| ][enhanced ]text<CRLF>` (RFC 5321 §4.2.1, RFC 2034 §4).
    public func encode(into buffer: inout ByteBuffer) {
        let lines = precedingLines + [text]
        for (index, line) in lines.enumerated() {
            buffer.writeString(String(code.rawValue))
            buffer.writeString(index == lines.count - 1 ? " " : "-")
            if let enhanced { buffer.writeString("\(enhanced) ") }
            buffer.writeString(Self.sanitized(line))
            buffer.writeString("\r\n")
        }
    }

    /// The encoded reply as a new buffer.
    public var wireBytes: ByteBuffer {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return buffer
    }

    private static func sanitized(_ line: String) -> String {
        String(line.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }
}
