// Security: the security headers on responses the HTTP layer writes itself, below the router and its middleware:
// the 400 for a request the HTTP/1 parser refuses (an oversized header, a malformed request line, a bad chunk), which
// Hummingbird answers with only `Connection: close` (issue 25). The channel handler sits between Hummingbird's
// HTTP-types codec and NIO's response encoder, so every response head of the connection passes it, the router's
// too (it only adds what ``SecurityHeadersMiddleware`` already set there).

import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Sets ``SecurityHeadersMiddleware/fields`` on every response head, and its Content-Security-Policy on every head
/// that carries none.
final class SecurityHeadersHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private static let fields: [(String, String)] = SecurityHeadersMiddleware<WebRequestContext>.fields.map {
        ($0.name.rawName, $0.value)
    }
    private static let policy = SecurityHeadersMiddleware<WebRequestContext>.contentSecurityPolicy

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if !head.headers.contains(name: "Content-Security-Policy") {
            head.headers.add(name: "Content-Security-Policy", value: Self.policy)
        }
        for (name, value) in Self.fields { head.headers.replaceOrAdd(name: name, value: value) }
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}

@available(*, unavailable)
extension SecurityHeadersHandler: Sendable {}

/// Hummingbird's HTTP/1 child channel with a ``SecurityHeadersHandler`` right above NIO's response encoder.
struct SecuredHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
            try pipeline.addHandler(SecurityHeadersHandler(), position: .after(encoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
