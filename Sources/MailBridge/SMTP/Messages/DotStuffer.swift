public import NIOCore

/// Encodes a message for the DATA phase: checks every line, dot-stuffs (RFC 5321 §4.5.2) and appends the
/// `<CRLF>.<CRLF>` terminator (RFC 5321 §4.1.1.4). It refuses, rather than repairs, anything that a receiver could
/// read differently from us, so the client never emits a bare CR or LF (RFC 5321 §2.3.8; SMTP smuggling) nor an
/// overlong line (RFC 5321 §4.5.3.1.6, RFC 5322 §2.1.1).
///
/// Security: the message comes from our own composers, but parts of it (quoted text, file names) came from
/// clients. Errors carry a line number and a code only, never content.
///
/// ```swift
/// let encoded = try DotStuffer.encode(ByteBuffer(string: "Subject: x\r\n\r\n.hi\r\n"))
/// // encoded.data == "Subject: x\r\n\r\n..hi\r\n.\r\n"
/// ```
public enum DotStuffer {
    /// Octets per line without CRLF, counted after stuffing, so the line on the wire is at most 1000 octets with
    /// its CRLF (RFC 5321 §4.5.3.1.6). A 998-octet line starting with "." is therefore refused.
    public static let maximumLineLength = 998

    /// The bytes to write after the 354 reply, and facts the MAIL command needs.
    public struct Encoded: Sendable, Hashable {
        /// Stuffed message, ending in `<CRLF>.<CRLF>`.
        public var data: ByteBuffer
        /// Octets of the message as given (for SIZE=, RFC 1870 §3), plus a CRLF if one was appended.
        public var messageSize: Int
        /// True if any octet is above 0x7F (needs 8BITMIME, RFC 6152).
        public var has8BitContent: Bool
    }

    /// Why a message cannot be sent. `line` is 1-based.
    public struct EncodingError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Code: String, Hashable, Sendable {
            case bareCarriageReturn, bareLineFeed, nul, lineTooLong
        }

        public var code: Code
        public var line: Int

        public init(code: Code, line: Int) {
            self.code = code
            self.line = line
        }

        public var description: String { "message refused: \(code.rawValue) on line \(line)" }
    }

    /// Encodes `message`. A missing final CRLF is added, as RFC 5321 §4.1.1.4 requires before the terminator.
    public static func encode(_ message: ByteBuffer) throws(EncodingError) -> Encoded {
        var output = ByteBuffer()
        output.reserveCapacity(message.readableBytes + message.readableBytes / 64 + 5)
        var has8Bit = false
        var appendedCRLF = false
        let failure: EncodingError? = message.withUnsafeReadableBytes { bytes in
            var line = 1
            var start = 0
            while start < bytes.count {
                // One line: up to the next CR or LF, checked in one pass, written in one copy.
                var index = start
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == 13 || byte == 10 { break }
                    if byte == 0 { return EncodingError(code: .nul, line: line) }
                    if byte > 0x7F { has8Bit = true }
                    index += 1
                }
                let stuffed = bytes[start] == UInt8(ascii: ".") && index > start
                // RFC 5321 §4.5.3.1.6: at most 998 octets plus CRLF on the wire, the stuffed dot included.
                guard index - start + (stuffed ? 1 : 0) <= maximumLineLength else {
                    return EncodingError(code: .lineTooLong, line: line)
                }
                if stuffed { output.writeInteger(UInt8(ascii: ".")) }  // RFC 5321 §4.5.2
                output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                if index == bytes.count {
                    appendedCRLF = true
                } else if bytes[index] == 10 {
                    return EncodingError(code: .bareLineFeed, line: line)  // RFC 5321 §2.3.8
                } else if index + 1 == bytes.count || bytes[index + 1] != 10 {
                    return EncodingError(code: .bareCarriageReturn, line: line)
                }
                output.writeStaticString("\r\n")
                start = index + 2
                line += 1
            }
            return nil
        }
        if let failure { throw failure }
        output.writeStaticString(".\r\n")
        return Encoded(
            data: output, messageSize: message.readableBytes + (appendedCRLF ? 2 : 0), has8BitContent: has8Bit)
    }
}
