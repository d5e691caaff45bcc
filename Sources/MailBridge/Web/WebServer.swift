// Security: binds the counsellor side to the configured address: loopback unless TLS is configured (enforced by
// the configuration reader). It adds no route of its own; everything goes through `WebRouter.make`. The HTTP/1
// idle timeout bounds slow clients; Hummingbird bounds request bodies (`RequestContext.maxUploadSize`).

public import Hummingbird
public import Logging
public import NIOCore
public import ServiceLifecycle

/// The web inbox and JSON API server (issue 8): a Hummingbird `Application` run as one service of the gateway.
///
/// ```swift
/// let server = try WebServer(configuration: configuration.web, services: services, logger: logger)
/// // in a ServiceGroup with the other services; after start:
/// let port = try await server.localAddress().port
/// ```
public final class WebServer: Service, Sendable {
    private let application: Application<RouterResponder<WebRequestContext>>
    private let bound: BoundAddress
    /// The configured address, for a bind error that names it.
    private let listen: (host: String, port: Int)

    /// Prepares the server; it binds when ``run()`` starts. Throws if the TLS files cannot be read.
    public init(configuration: BridgeConfiguration.Web, services: WebServices, logger: Logger) throws {
        let bound = BoundAddress()
        self.bound = bound
        listen = (configuration.listen, configuration.port)
        application = Application(
            router: WebRouter.make(services: services),
            server: try Self.serverBuilder(certificate: configuration.tlsCertificate, key: configuration.tlsKey,
                                           section: "web"),
            configuration: .init(address: .hostname(configuration.listen, port: configuration.port), serverName: nil),
            onServerRunning: { channel in bound.set(channel.localAddress) },
            logger: logger)
    }

    /// Serves until graceful shutdown.
    public func run() async throws {
        try await BindFailure.naming("web inbox", host: listen.host, port: listen.port) {
            try await application.run()
        }
    }

    /// The bound address, once the server runs (port 0 in the configuration picks a free port).
    public func localAddress() async -> SocketAddress { await bound.wait() }
}
