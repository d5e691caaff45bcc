// Security: an HTTP/1.1 endpoint on loopback (the configuration refuses anything else) that serves only
// `GET /metrics`. It reads no request body and answers everything else with 404 or 405.

public import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import ServiceLifecycle

/// Serves ``GatewayMetrics`` for Prometheus at `http://<listen>:<port>/metrics`.
public final class MetricsEndpoint: Service, Sendable {
    private let channel: any Channel
    private let logger: Logger

    /// The bound address (useful with port 0 in tests).
    public var localAddress: SocketAddress? { channel.localAddress }

    public static func bind(host: String, port: Int, metrics: GatewayMetrics, logger: Logger) async throws
        -> MetricsEndpoint
    {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsEndpoint(channel: channel, logger: logger)
    }

    private init(channel: any Channel, logger: Logger) {
        self.channel = channel
        self.logger = logger
    }

    /// Serves until graceful shutdown or cancellation; both close the listening socket (awaiting `closeFuture`
    /// alone would ignore cancellation).
    public func run() async throws {
        await serveUntilShutdown(channel)
    }
}

/// Answers one request per head: the metrics for `GET /metrics`, 404/405 otherwise.
private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let metrics: GatewayMetrics

    init(metrics: GatewayMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let status: HTTPResponseStatus
        var body: [UInt8] = []
        if head.uri != "/metrics" && !head.uri.hasPrefix("/metrics?") {
            status = .notFound
        } else if head.method != .GET {
            status = .methodNotAllowed
        } else {
            status = .ok
            body = metrics.exposition()
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Cache-Control", value: "no-store")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
