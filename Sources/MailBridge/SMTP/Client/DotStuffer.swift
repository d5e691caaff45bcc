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
        let bytes = message.readableBytesView
        var output = ByteBuffer()
        output.reserveCapacity(bytes.count + bytes.count / 64 + 5)
        var line = 1
        var lineLength = 0
        var has8Bit = false
        var index = bytes.startIndex
        var appendedCRLF = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            if lineLength == 0 && byte == UInt8(ascii: ".") {
                output.writeInteger(UInt8(ascii: "."))  // RFC 5321 §4.5.2: double a leading dot
                lineLength += 1
            }
            switch byte {
            case 13:
                let next = bytes.index(after: index)
                guard next < bytes.endIndex, bytes[next] == 10 else {
                    throw EncodingError(code: .bareCarriageReturn, line: line)
                }
                output.writeInteger(UInt8(13))
                output.writeInteger(UInt8(10))
                index = bytes.index(after: next)
                line += 1
                lineLength = 0
                continue
            case 10:
                throw EncodingError(code: .bareLineFeed, line: line)
            case 0:
                throw EncodingError(code: .nul, line: line)
            default:
                if byte > 0x7F { has8Bit = true }
                output.writeInteger(byte)
                lineLength += 1
                guard lineLength <= maximumLineLength else { throw EncodingError(code: .lineTooLong, line: line) }
            }
            index = bytes.index(after: index)
        }
        if lineLength > 0 {
            output.writeStaticString("\r\n")
            appendedCRLF = true
        }
        output.writeStaticString(".\r\n")
        return Encoded(data: output, messageSize: bytes.count + (appendedCRLF ? 2 : 0), has8BitContent: has8Bit)
    }
}
