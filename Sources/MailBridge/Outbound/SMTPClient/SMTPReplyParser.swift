public import NIOCore

/// Assembles server replies (RFC 5321 §4.2) from framed lines, strictly and with limits.
///
/// Security: the input is an untrusted remote server. Every line must end in CRLF (RFC 5321 §2.3.8), be at most
/// ``Limits/maximumLineLength`` octets (RFC 5321 §4.5.3.1.5 names 512; configurable because real servers write
/// longer texts), carry a valid three-digit code, and all lines of one reply must share that code
/// (RFC 5321 §4.2.1). A reply has at most ``Limits/maximumLines`` lines, so memory stays bounded. The text is kept
/// for protocol decisions (EHLO keywords) only; it never goes into logs or the store (it may echo addresses).
///
/// ```swift
/// var parser = SMTPReplyParser()
/// if let reply = try parser.consume(frame) { machine.receivedReply(reply) }
/// ```
public struct SMTPReplyParser: Sendable {
    public struct Limits: Hashable, Sendable {
        /// Octets per reply line, CRLF included.
        public var maximumLineLength: Int
        /// Lines per reply (EHLO replies are the longest in practice).
        public var maximumLines: Int

        public init(maximumLineLength: Int = 1000, maximumLines: Int = 64) {
            self.maximumLineLength = maximumLineLength
            self.maximumLines = maximumLines
        }
    }

    public let limits: Limits
    private var code: Int?
    private var lines: [String] = []

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// True while a multi-line reply is incomplete.
    public var isInsideReply: Bool { code != nil }

    /// Consumes one frame (a line ending in LF, or a fragment of an overlong line). Returns the reply once its
    /// last line is read. Throws ``DeliveryFailure/Code/malformedReply`` on any violation; the parser is then
    /// unusable and the connection must be dropped.
    public mutating func consume(_ frame: SMTPFrame) throws(DeliveryFailure) -> SMTPReply? {
        let bytes = Array(frame.bytes.readableBytesView)
        guard frame.endsLine, bytes.count <= limits.maximumLineLength else { throw malformed() }
        // RFC 5321 §2.3.8: CRLF ends a line; no other CR or LF may appear.
        guard bytes.count >= 5, bytes[bytes.count - 2] == 13, bytes[bytes.count - 1] == 10 else { throw malformed() }
        let line = bytes[..<(bytes.count - 2)]
        guard !line.contains(13), !line.contains(10) else { throw malformed() }

        // Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 §4.2).
        let digits = Array(line.prefix(3))
        guard digits.count == 3, (0x32...0x35).contains(digits[0]), (0x30...0x35).contains(digits[1]),
            (0x30...0x39).contains(digits[2])
        else { throw malformed() }
        let lineCode = Int(digits[0] - 0x30) * 100 + Int(digits[1] - 0x30) * 10 + Int(digits[2] - 0x30)
        if let code, code != lineCode { throw malformed() }  // RFC 5321 §4.2.1: same code on every line

        let rest = line.dropFirst(3)
        let isLast: Bool
        let text: ArraySlice<UInt8>
        switch rest.first {
        case nil: isLast = true; text = []
        case 0x20: isLast = true; text = rest.dropFirst()
        case 0x2D: isLast = false; text = rest.dropFirst()
        default: throw malformed()
        }
        // textstring = 1*(%d09 / %d32-126) (RFC 5321 §4.2); UTF-8 tolerated (RFC 6531 §3.7.4), controls are not.
        guard !text.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else { throw malformed() }

        code = lineCode
        lines.append(String(decoding: text, as: UTF8.self))
        guard lines.count <= limits.maximumLines else { throw malformed() }
        guard isLast else { return nil }

        defer {
            code = nil
            lines = []
        }
        return Self.makeReply(code: lineCode, lines: lines)
    }

    private func malformed() -> DeliveryFailure {
        DeliveryFailure(.malformedReply)
    }

    /// Splits off an enhanced status code (RFC 2034 §4, RFC 3463 §2) whose class matches the reply's.
    static func makeReply(code: Int, lines: [String]) -> SMTPReply {
        let replyCode = ReplyCode(code)
        var enhanced: EnhancedStatusCode?
        var texts = lines
        if let last = lines.last, let (status, remainder) = Self.enhancedCode(in: last),
            status.statusClass == code / 100
        {
            enhanced = status
            texts = lines.map { line in
                if let (other, rest) = Self.enhancedCode(in: line), other == status { return rest }
                return line
            }
            texts[texts.count - 1] = remainder
        }
        return SMTPReply(
            replyCode, enhanced, texts.last ?? "", precedingLines: Array(texts.dropLast()), isClientFault: false)
    }

    /// `class "." subject "." detail` with class 2/4/5, subject 1-3 digits, detail 1-3 digits (RFC 3463 §2).
    static func enhancedCode(in line: String) -> (EnhancedStatusCode, String)? {
        let token = line.prefix { $0 != " " }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            parts.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let statusClass = Int(parts[0]), [2, 4, 5].contains(statusClass), parts[0].count == 1,
            let subject = Int(parts[1]), let detail = Int(parts[2])
        else { return nil }
        let remainder = line.dropFirst(token.count).drop { $0 == " " }
        return (EnhancedStatusCode(statusClass, subject, detail), String(remainder))
    }
}
