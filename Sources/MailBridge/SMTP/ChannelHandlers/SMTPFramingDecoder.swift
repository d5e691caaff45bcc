public import NIOCore

/// Splits the inbound stream into ``SMTPFrame``s at LF only (never at CR, VT or FF), with a hard length limit.
///
/// Security: raw untrusted bytes. A line longer than `maximumLineLength` is cut into fragments of at most that
/// size, never between a CR and its LF, so memory stays bounded and the protocol layers still see every byte
/// (an overlong command is refused, an overlong data line rejects the message). Bare CR is passed through for
/// the parsers to refuse (RFC 5321 §2.3.8). Use inside `ByteToMessageHandler(_:maximumBufferSize:)`: after each
/// decode pass less than `maximumLineLength` bytes remain buffered.
public struct SMTPFramingDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SMTPFrame

    public let maximumLineLength: Int
    private let gate: SMTPFramingGate?

    public init(maximumLineLength: Int, gate: SMTPFramingGate? = nil) {
        precondition(maximumLineLength >= 3, "a line needs room for at least one octet and CRLF")
        self.maximumLineLength = maximumLineLength
        self.gate = gate
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searched = view.prefix(maximumLineLength)
        let frame: SMTPFrame
        if let lineFeed = searched.firstIndex(of: UInt8(ascii: "\n")) {
            let length = view.distance(from: view.startIndex, to: lineFeed) + 1
            frame = SMTPFrame(bytes: buffer.readSlice(length: length)!, endsLine: true)
        } else if view.count >= maximumLineLength {
            var length = maximumLineLength
            if view[view.index(view.startIndex, offsetBy: length - 1)] == UInt8(ascii: "\r") {
                length -= 1  // keep a CR with the LF that may follow
            }
            frame = SMTPFrame(bytes: buffer.readSlice(length: length)!, endsLine: false)
        } else {
            gate?.bufferedBytes = buffer.readableBytes
            return .needMoreData
        }
        gate?.emittedFrames += 1
        gate?.bufferedBytes = buffer.readableBytes
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A partial line at EOF is dropped: the connection is closing and it cannot be a complete command.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        gate?.bufferedBytes = 0
        return .needMoreData
    }
}
