public import NIOCore

/// One piece of the inbound byte stream: a line ending in LF, or a fragment of a line longer than the framing
/// limit (`endsLine == false`). Commands and data lines are told apart by the session, not the framer.
public struct SMTPFrame: Sendable, Hashable {
    public var bytes: ByteBuffer
    public var endsLine: Bool

    public init(bytes: ByteBuffer, endsLine: Bool) {
        self.bytes = bytes
        self.endsLine = endsLine
    }
}
