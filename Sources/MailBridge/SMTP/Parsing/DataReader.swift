public import NIOCore

/// Reads the DATA section (RFC 5321 §4.1.1.4) from line fragments, unstuffs dots (RFC 5321 §4.5.2) and enforces
/// limits while streaming.
///
/// Security: the input is untrusted message content. Only `<CRLF>.<CRLF>` ends the data. A bare CR or bare LF
/// anywhere (RFC 5321 §2.3.8), a text line over the limit (RFC 5321 §4.5.3.1.6), an oversize header or message
/// mark the message as rejected, but reading goes on to the real end of data so the session stays in sync with the
/// client and nothing after a fake terminator is taken as a command (mox `smtp.DataReader`; SMTP smuggling).
/// Memory is bounded: the reader keeps counters only and returns slices of its input.
///
/// ```swift
/// var reader = DataReader(maximumMessageSize: 1 << 20, maximumLineLength: 1000, maximumHeaderSize: 64 << 10)
/// switch reader.consume(ByteBuffer(string: "..hello\r\n"), endsLine: true) {
/// case .content(let bytes): write(bytes)   // ".hello\r\n"
/// case .endOfData: break
/// }
/// ```
public struct DataReader: Hashable, Sendable {
    /// Why a message is refused. The first reason found is kept.
    public enum Rejection: Hashable, Sendable {
        case bareCarriageReturnOrLineFeed
        case lineTooLong
        case headerTooLarge
        case messageTooLarge

        /// The reply sent after the real end of data.
        public var reply: SMTPReply {
            switch self {
            case .bareCarriageReturnOrLineFeed:
                SMTPReply(.transactionFailed, .mediaError, "bare CR or LF in message not allowed")  // RFC 5321 §2.3.8
            case .lineTooLong:
                SMTPReply(.transactionFailed, .mediaError, "text line too long")  // RFC 5321 §4.5.3.1.6
            case .headerTooLarge:
                SMTPReply(.exceededStorage, .messageTooBig, "message header too large")
            case .messageTooLarge:
                SMTPReply(.exceededStorage, .messageTooBig, "message too large")  // RFC 1870 §6.3
            }
        }
    }

    public enum Output: Sendable, Equatable {
        /// Unstuffed message bytes to store (empty once the message is rejected).
        case content(ByteBuffer)
        /// The `<CRLF>.<CRLF>` terminator was read; nothing of it belongs to the message.
        case endOfData
    }

    public let maximumMessageSize: Int
    public let maximumLineLength: Int
    public let maximumHeaderSize: Int

    /// The first limit or syntax violation, if any.
    public private(set) var rejection: Rejection?
    /// Unstuffed octets of message content read so far (counted even after a rejection).
    public private(set) var messageSize = 0
    /// True after the terminator was read.
    public private(set) var isFinished = false

    // The DATA command's own CRLF counts as the CRLF before a first-line terminator (RFC 5321 §4.1.1.4).
    private var previousLineEndedWithCRLF = true
    private var currentLineLength = 0
    private var inHeader = true
    private var headerSize = 0

    public init(maximumMessageSize: Int, maximumLineLength: Int, maximumHeaderSize: Int) {
        self.maximumMessageSize = maximumMessageSize
        self.maximumLineLength = maximumLineLength
        self.maximumHeaderSize = maximumHeaderSize
    }

    /// Consumes the next fragment. `endsLine` is true when the fragment ends in LF (the framing layer splits on LF
    /// only and never splits a CRLF pair); a line longer than the framing limit arrives as several fragments.
    public mutating func consume(_ fragment: ByteBuffer, endsLine: Bool) -> Output {
        precondition(!isFinished, "DataReader used after end of data")
        let bytes = fragment.readableBytesView
        let startsLine = currentLineLength == 0
        let endsWithCRLF = endsLine && bytes.count >= 2 && bytes[bytes.index(bytes.endIndex, offsetBy: -2)] == .cr

        // RFC 5321 §4.1.1.4: only <CRLF>.<CRLF> ends the data.
        if startsLine && previousLineEndedWithCRLF && endsWithCRLF && bytes.count == 3 && bytes.first == .dot {
            isFinished = true
            return .endOfData
        }

        // RFC 5321 §2.3.8: CR and LF only as a CRLF pair.
        let crCount = bytes.lazy.filter { $0 == .cr }.count
        let allowedCR = endsWithCRLF ? 1 : 0
        if crCount != allowedCR || (endsLine && !endsWithCRLF) {
            reject(.bareCarriageReturnOrLineFeed)
        }

        currentLineLength += bytes.count
        if currentLineLength > maximumLineLength { reject(.lineTooLong) }  // RFC 5321 §4.5.3.1.6

        if inHeader {
            if startsLine && endsWithCRLF && bytes.count == 2 {
                inHeader = false  // the empty line ending the header section (RFC 5322 §2.1)
            } else {
                headerSize += bytes.count
                if headerSize > maximumHeaderSize { reject(.headerTooLarge) }
            }
        }

        var content = fragment
        if startsLine && bytes.first == .dot {
            content.moveReaderIndex(forwardBy: 1)  // dot-unstuffing, RFC 5321 §4.5.2
        }
        messageSize += content.readableBytes
        if messageSize > maximumMessageSize { reject(.messageTooLarge) }

        if endsLine {
            previousLineEndedWithCRLF = endsWithCRLF
            currentLineLength = 0
        }
        return .content(rejection == nil ? content : ByteBuffer())
    }

    private mutating func reject(_ reason: Rejection) {
        if rejection == nil { rejection = reason }
    }
}

extension UInt8 {
    fileprivate static let cr = UInt8(ascii: "\r")
    fileprivate static let dot = UInt8(ascii: ".")
}
