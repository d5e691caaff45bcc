// Security: sends webhook requests to the one URL the configuration names, over HTTPS with the certificate chain
// and the host name verified (system roots, or the configured CA file instead). It follows no redirect and reads
// nothing of an answer but its status. The body it sends holds IDs and times only (WebhookPayload).

import AsyncHTTPClient
public import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import ThreadStore

/// Sends one signed request per attempt (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
/// `webhook-signature`), and says how it went as a ``Result``. One `HTTPClient` (connection pool), made at the first
/// attempt; ``shutdown()`` closes it.
///
/// ```swift
/// let sender = try WebhookSender(url: webhook.url, secrets: secrets, caFile: nil, timeout: .seconds(10))
/// let result = await sender.send(event, at: Date())
/// try await sender.shutdown()
/// ```
public final class WebhookSender: Sendable {
    let url: String
    /// The secrets in force, and the file they are read from again before each batch (rotation without restart).
    let secrets: NIOLockedValueBox<WebhookSecrets>
    let secretFile: String?
    let timeout: Duration
    /// ``timeout`` for the client: its connect and read timeouts and each request's deadline.
    let attemptTime: TimeAmount
    let configuration: HTTPClient.Configuration
    /// Made at the first attempt, so a sender that never sent (a start that failed later) needs no shutdown;
    /// one that sent must be shut down (``shutdown()``; the dispatcher does at its end).
    private let client = NIOLockedValueBox<HTTPClient?>(nil)

    /// What one attempt came to.
    public enum Result: Sendable, Hashable {
        /// The receiver answered with this HTTP status.
        case status(Int)
        /// No answer: why.
        case problem(WebhookAttemptProblem)

        /// Whether the event is delivered (2xx).
        public var isDelivered: Bool {
            if case .status(let code) = self { return (200...299).contains(code) }
            return false
        }

        /// The stored status: the HTTP status, or the problem's negative code.
        public var storedStatus: Int {
            switch self {
            case .status(let code): code
            case .problem(let problem): problem.rawValue
            }
        }
    }

    /// - Parameters:
    ///   - secretFile: the file `secrets` came from, read again by ``refreshSecrets(logger:)``.
    ///   - caFile: PEM trust roots instead of the system's (a platform behind a private CA).
    public init(url: String, secrets: WebhookSecrets, secretFile: String? = nil, caFile: String?,
                timeout: Duration) throws {
        self.url = url
        self.secrets = NIOLockedValueBox(secrets)
        self.secretFile = secretFile
        self.timeout = timeout
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        if let caFile { tls.trustRoots = .file(caFile) }
        // A CA file that is missing or not PEM fails here, at start, not at every attempt for days.
        _ = try NIOSSLContext(configuration: tls)
        attemptTime = .seconds(Int64(timeout.components.seconds))
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: attemptTime, read: attemptTime),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        self.configuration = configuration
    }

    private var connectionPool: HTTPClient {
        client.withLockedValue { client in
            if let client { return client }
            let made = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton),
                                  configuration: configuration)
            client = made
            return made
        }
    }

    /// One attempt to deliver `event`, signed at `now` (each attempt carries its own time and signatures).
    public func send(_ event: WebhookEvent, at now: Date) async -> Result {
        let body = WebhookPayload(event).body()
        let id = event.id.unredactedDescription
        let timestamp = Int64(now.timeIntervalSince1970.rounded(.down))
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "MailBridge")
        request.headers.add(name: "webhook-id", value: id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        let signature = WebhookSignature.header(id: id, timestamp: timestamp, body: body,
                                                secrets: secrets.withLockedValue { $0 })
        request.headers.add(name: "webhook-signature", value: signature)
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await connectionPool.execute(request, deadline: .now() + attemptTime)
            // Only the status counts. The body is not read: the deadline covers the answer's head only, and a body
            // trickled byte by byte would hold the sender for days; the unread response closes its connection.
            return .status(Int(response.status.code))
        } catch {
            return .problem(Self.problem(error))
        }
    }

    /// What kind of failure `error` is (stored as a code; the error's text, which may name the host, is not kept).
    static func problem(_ error: any Error) -> WebhookAttemptProblem {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout: return .timedOut
            case .tlsHandshakeTimeout: return .tlsFailed
            case .remoteConnectionClosed: return .connectionFailed
            default: return .other
            }
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError { return .tlsFailed }
        if error is NIOConnectionError || error is IOError || error is ChannelError { return .connectionFailed }
        return .other
    }

    /// Reads the secret file again; a file that cannot be read or holds no valid secret keeps the secrets in
    /// force (logged by file and line, never a secret).
    public func refreshSecrets(logger: Logger) {
        guard let secretFile else { return }
        do {
            let fresh = try WebhookSecrets.load(secretFile)
            secrets.withLockedValue { $0 = fresh }
        } catch {
            logger.warning("webhook secret file not used; the secrets read before stay in force",
                           metadata: ["problem": "\(error.description)"])
        }
    }

    /// A sender dropped without ``shutdown()`` (a test that stopped early, a start that failed): the pool is closed
    /// in the background and kept alive until it is (async-http-client stops the process for a pool released open).
    deinit {
        if let made = client.withLockedValue({ $0 }) {
            _ = made.shutdown().always { _ in _ = made }
        }
    }

    /// Closes the connection pool, if one was made; the sender makes a new one if it sends again.
    public func shutdown() async throws {
        guard let made = client.exchange(nil) else { return }
        try await made.shutdown()
    }
}
