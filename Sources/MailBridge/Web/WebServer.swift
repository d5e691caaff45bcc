// Security: binds the counsellor side to the configured address: loopback unless TLS is configured (enforced by
// the configuration reader). It adds no route of its own; everything goes through `WebRouter.make`. The HTTP/1
// idle timeout bounds slow clients; Hummingbird bounds request bodies (`RequestContext.maxUploadSize`).

public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOSSL
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
    private let bound: NIOLockedValueBox<(address: SocketAddress?, waiters: [CheckedContinuation<SocketAddress, Never>])>

    /// Prepares the server; it binds when ``run()`` starts. Throws if the TLS files cannot be read.
    public init(configuration: BridgeConfiguration.Web, services: WebServices, logger: Logger) throws {
        let box = NIOLockedValueBox<(address: SocketAddress?, waiters: [CheckedContinuation<SocketAddress, Never>])>(
            (nil, []))
        bound = box
        let limits = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 64 << 10, maxHeaderFieldCount: 100)
        let http1 = HTTPServerBuilder.http1(configuration: HTTP1Channel.Configuration(
            idleTimeout: .seconds(60), httpDecoderConfiguration: limits))
        var server = http1
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate.string).map {
                    NIOSSLCertificateSource.certificate($0)
                }
                let privateKey = try NIOSSLPrivateKey(file: key.string, format: .pem)
                var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain,
                                                                   privateKey: .privateKey(privateKey))
                tls.minimumTLSVersion = .tlsv12
                server = try .tls(http1, tlsConfiguration: tls)
            } catch {
                throw GatewayError("cannot read the [web] TLS certificate or key (tls-certificate, tls-key)")
            }
        }
        application = Application(
            router: WebRouter.make(services: services),
            server: server,
            configuration: .init(address: .hostname(configuration.listen, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                guard let address = channel.localAddress else { return }
                let waiters = box.withLockedValue { state in
                    state.address = address
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: address) }
            },
            logger: logger)
    }

    /// Serves until graceful shutdown.
    public func run() async throws {
        try await application.run()
    }

    /// The bound address, once the server runs (port 0 in the configuration picks a free port).
    public func localAddress() async -> SocketAddress {
        await withCheckedContinuation { continuation in
            let address = bound.withLockedValue { state -> SocketAddress? in
                if let address = state.address { return address }
                state.waiters.append(continuation)
                return nil
            }
            if let address { continuation.resume(returning: address) }
        }
    }
}
