import MailBridge
import NIOCore
import NIOPosix

/// A minimal SMTP client that sends raw bytes and reads whole replies, for driving the listener in tests.
struct RawSMTPClient {
    struct Reply: CustomStringConvertible {
        var code: Int
        var lines: [String]
        var description: String { lines.joined(separator: " | ") }
    }

    let channel: any Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private var buffer = ByteBuffer()

    /// Hands received bytes to an AsyncStream; the stream ends when the connection closes or fails.
    private final class StreamingHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            continuation.finish()
            context.close(promise: nil)
        }
    }

    static func connect(port: Int) async throws -> RawSMTPClient {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamingHandler(continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawSMTPClient(channel: channel, iterator: stream.makeAsyncIterator())
    }

    private init(channel: any Channel, iterator: AsyncStream<ByteBuffer>.AsyncIterator) {
        self.channel = channel
        self.iterator = iterator
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// The next complete reply, or nil when the server closed the connection.
    mutating func readReply() async throws -> Reply? {
        var lines: [String] = []
        while true {
            let view = buffer.readableBytesView
            if let lf = view.firstIndex(of: UInt8(ascii: "\n")) {
                let length = view.distance(from: view.startIndex, to: lf) + 1
                let line = String(buffer: buffer.readSlice(length: length)!).trimmingCharacters(in: [
                    "\r", "\n", "\r\n",
                ])
                lines.append(line)
                let separator = line.dropFirst(3).first
                if separator != "-" { return Reply(code: Int(line.prefix(3)) ?? -1, lines: lines) }
                continue
            }
            guard var more = await iterator.next() else { return nil }
            buffer.writeBuffer(&more)
        }
    }

    /// Sends a line with CRLF and returns the reply code (-1 when the connection closed).
    mutating func command(_ line: String) async throws -> Int {
        try await send(line + "\r\n")
        return try await readReply()?.code ?? -1
    }

    /// Reads until the server closes; returns the replies seen on the way.
    mutating func readUntilClosed() async throws -> [Reply] {
        var replies: [Reply] = []
        while let reply = try await readReply() { replies.append(reply) }
        return replies
    }

    func close() async {
        try? await channel.close()
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var result = Substring(self)
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return String(result)
    }
}
