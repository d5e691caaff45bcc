// Security: the help page's own listener (`[help] port`), so that an organisation can publish the page without
// publishing the counsellors' inbox: this server has no route but the help routes, no store and no sessions.
// Loopback unless TLS is configured (enforced by the configuration reader); the same HTTP/1 limits as the inbox.

public import Hummingbird
import HummingbirdCore
public import Logging
public import NIOCore
public import ServiceLifecycle

/// The public help page on a listener of its own (issue 17).
///
/// ```swift
/// let help = try HelpServer(configuration: configuration.help, directory: directory, logger: logger)
/// // in the ServiceGroup; after start:
/// let port = await help.localAddress().port
/// ```
public final class HelpServer: Service, Sendable {
    private let application: Application<RouterResponder<BasicRequestContext>>
    private let bound: BoundAddress
    /// The configured address, for a bind error that names it.
    private let listen: (host: String, port: Int)

    /// Prepares the server on `[help] listen`/`port`; throws if the TLS files cannot be read.
    public init(configuration: BridgeConfiguration.Help, directory: HelpDirectory, logger: Logger) throws {
        let router = Router(context: BasicRequestContext.self)
        HelpRoutes.install(on: router, directory: directory, atRoot: true)
        let bound = BoundAddress()
        self.bound = bound
        listen = (configuration.listen, configuration.port ?? 0)
        application = Application(
            router: router,
            server: try WebServer.serverBuilder(certificate: configuration.tlsCertificate, key: configuration.tlsKey,
                                                section: "help"),
            configuration: .init(address: .hostname(configuration.listen, port: configuration.port ?? 0),
                                 serverName: nil),
            onServerRunning: { channel in bound.set(channel.localAddress) },
            logger: logger)
    }

    /// Serves until graceful shutdown.
    public func run() async throws {
        try await BindFailure.naming("help page", host: listen.host, port: listen.port) {
            try await application.run()
        }
    }

    /// The bound address, once the server runs.
    public func localAddress() async -> SocketAddress { await bound.wait() }
}
