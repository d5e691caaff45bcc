// Security: the HTTP/1 limits and the TLS set-up shared by the inbox server and the help page's own listener:
// bounded header sizes and counts, an idle timeout for slow clients, TLS 1.2 at least, and the security headers on
// every response, the HTTP layer's own errors included.

import HummingbirdCore
import HummingbirdTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

extension WebServer {
    /// HTTP/1 with MailBridge's header limits and idle timeout; over TLS when `certificate` and `key` are set.
    /// `section` names the configuration section in the error.
    static func serverBuilder(certificate: AbsolutePath?, key: AbsolutePath?, section: String) throws
        -> HTTPServerBuilder
    {
        let limits = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 64 << 10, maxHeaderFieldCount: 100)
        let configuration = HTTP1Channel.Configuration(idleTimeout: .seconds(60), httpDecoderConfiguration: limits)
        // Security headers on the HTTP layer's own error responses too (issue 25; SecurityHeadersHandler.swift).
        let http1 = HTTPServerBuilder { responder in
            SecuredHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration))
        }
        guard let certificate, let key else { return http1 }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate.string).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let privateKey = try NIOSSLPrivateKey(file: key.string, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain,
                                                               privateKey: .privateKey(privateKey))
            tls.minimumTLSVersion = .tlsv12
            return try .tls(http1, tlsConfiguration: tls)
        } catch {
            throw GatewayError("cannot read the [\(section)] TLS certificate or key (tls-certificate, tls-key)")
        }
    }
}

/// The address a server bound to, for callers that wait until it runs (port 0 picks a free port).
final class BoundAddress: Sendable {
    private typealias State = (address: SocketAddress?, waiters: [CheckedContinuation<SocketAddress, Never>])
    private let state = NIOLockedValueBox<State>((nil, []))

    /// Records the address and wakes the waiters.
    func set(_ address: SocketAddress?) {
        guard let address else { return }
        let waiters = state.withLockedValue { state in
            state.address = address
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: address) }
    }

    /// The address, once set.
    func wait() async -> SocketAddress {
        await withCheckedContinuation { continuation in
            let address = state.withLockedValue { state -> SocketAddress? in
                if let address = state.address { return address }
                state.waiters.append(continuation)
                return nil
            }
            if let address { continuation.resume(returning: address) }
        }
    }
}
