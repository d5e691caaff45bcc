/// What the framer has produced and what it still holds, so the session can tell at STARTTLS whether any
/// plaintext was pipelined after the command (RFC 3207 §5; mox checks `Buffered() > 0`).
///
/// Only touched on the channel's event loop: the decoder updates it while decoding, and the session reads it in
/// a closure submitted to that event loop.
public final class SMTPFramingGate: @unchecked Sendable {
    /// Frames handed to the next handler since the connection opened.
    public internal(set) var emittedFrames = 0
    /// Bytes received but not yet framed (a partial line).
    public internal(set) var bufferedBytes = 0

    public init() {}
}
