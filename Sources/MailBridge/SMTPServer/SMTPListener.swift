// Security: this is the gateway's network edge. Everything it reads comes from untrusted SMTP clients on the
// Internet: command lines (SMTPCommandParser, strict CRLF), message data (DataReader: smuggling-safe end of data,
// size and line limits while streaming) and TLS handshakes (swift-nio-ssl). It accepts mail only for configured
// counselling addresses (RecipientPolicy; no relay, no AUTH), bounds every buffer, connection count and duration
// (SMTPServerConfiguration), and answers 250 to DATA only after the message is durable (MessageIntake). It never
// decrypts or interprets content, and it logs IDs, sizes and reply codes only, never addresses or content.

public import Logging
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
public import ServiceLifecycle

/// The inbound SMTP server as a swift-service-lifecycle `Service` (STYLE.md §12).
///
/// ```swift
/// let listener = try await SMTPListener.bind(
///     host: "127.0.0.1", port: 2525, configuration: .init(hostname: "mx.example.org"),
///     policy: RecipientPolicy(accepting: counsellingAddresses), intake: spool)
/// let group = ServiceGroup(services: [listener], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// On graceful shutdown it stops accepting, answers 421 4.3.2 to idle sessions and lets sessions in DATA finish
/// their message first.
public final class SMTPListener: Service, Sendable {
    /// What the bootstrap hands each accepted connection.
    struct Connection: Sendable {
        let channel: NIOAsyncChannel<SMTPInboundEvent, Never>
        let gate: SMTPFramingGate
    }

    public let configuration: SMTPServerConfiguration
    public let policy: RecipientPolicy
    /// Where each message's spool file comes from and goes to (the inbound funnel, docs/architecture.md).
    public let intake: any MessageIntake
    let sslContext: NIOSSLContext?
    let logger: Logger
    let serverChannel: NIOAsyncChannel<Connection, Never>
    let limiter: ConnectionLimiter

    /// The bound address (useful with port 0 in tests).
    public var localAddress: SocketAddress? { serverChannel.channel.localAddress }

    private init(
        configuration: SMTPServerConfiguration,
        policy: RecipientPolicy,
        intake: any MessageIntake,
        sslContext: NIOSSLContext?,
        logger: Logger,
        serverChannel: NIOAsyncChannel<Connection, Never>
    ) {
        self.configuration = configuration
        self.policy = policy
        self.intake = intake
        self.sslContext = sslContext
        self.logger = logger
        self.serverChannel = serverChannel
        self.limiter = ConnectionLimiter(
            maximumPerIP: configuration.maximumConnectionsPerIP,
            maximumTotal: configuration.maximumConnections
        )
    }

    /// Binds the listening socket. `intake` makes and takes the spool files; `tls` enables STARTTLS; the event loop
    /// group defaults to `MultiThreadedEventLoopGroup.singleton`.
    public static func bind(
        host: String,
        port: Int,
        configuration: SMTPServerConfiguration,
        policy: RecipientPolicy,
        intake: any MessageIntake,
        tls: SMTPTLSConfiguration? = nil,
        logger: Logger = Logger(label: "mailbridge.smtp"),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) async throws -> SMTPListener {
        let sslContext = try tls?.makeContext()
        let serverChannel = try await ServerBootstrap(group: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.makeConnection(on: channel, configuration: configuration)
                }
            }
        logger.info(
            "SMTP listener bound",
            metadata: ["smtp.address": "\(serverChannel.channel.localAddress.map { "\($0)" } ?? "?")"]
        )
        return SMTPListener(
            configuration: configuration,
            policy: policy,
            intake: intake,
            sslContext: sslContext,
            logger: logger,
            serverChannel: serverChannel
        )
    }

    /// Sets up a new connection's pipeline (framer, timers and signals) and wraps it for the session. Runs on the
    /// channel's event loop; the session tests use it on an `NIOAsyncTestingChannel`.
    static func makeConnection(on channel: any Channel, configuration: SMTPServerConfiguration) throws -> Connection {
        let gate = SMTPFramingGate()
        let frameLimit = configuration.maximumFrameLength
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(
            ByteToMessageHandler(
                SMTPFramingDecoder(maximumLineLength: frameLimit, gate: gate),
                maximumBufferSize: 2 * frameLimit
            )
        )
        try operations.addHandler(
            SMTPConnectionEventHandler(
                idleTimeout: configuration.commandTimeout,
                sessionDeadline: configuration.sessionDeadline,
                progressCheckInterval: max(configuration.stressCommandTimeout / 4, .milliseconds(250))
            )
        )
        // Outbound is Never: replies are written on the channel itself so the STARTTLS upgrade can happen in the
        // same event-loop turn as the 220 write; an unconsumed connection tears down cleanly.
        let asyncChannel = try NIOAsyncChannel<SMTPInboundEvent, Never>(wrappingChannelSynchronously: channel)
        return Connection(channel: asyncChannel, gate: gate)
    }

    /// Accepts connections until graceful shutdown, one child task per connection, then waits for them.
    public func run() async throws {
        let serverChannel = self.serverChannel
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.handleConnection(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            // Stop accepting; sessions get their own shutdown signal.
            serverChannel.channel.close(promise: nil)
        }
        logger.info("SMTP listener stopped")
    }

    /// Stops accepting and asks all sessions to finish (for callers not using a ServiceGroup).
    public func close() async {
        try? await serverChannel.channel.close()
    }

    private func handleConnection(_ connection: Connection) async {
        let channel = connection.channel.channel
        let ip = channel.remoteAddress?.ipAddress ?? "unknown"
        guard let id = limiter.acquire(ip: ip) else {
            logger.notice("connection refused: limit reached")
            try? await connection.channel.executeThenClose { _ in
                try await channel.writeAndFlush(SMTPReply.tooManyConnections.wireBytes).get()
            }
            return
        }
        var logger = self.logger
        logger[metadataKey: "smtp.connection"] = "\(id)"
        logger.debug("connection opened")
        // Released as the dialogue ends (before the closing reply is written), or when the session task ends.
        let release = ReleaseOnce { [limiter] in limiter.release(ip: ip) }
        defer { release.run() }
        do {
            try await connection.channel.executeThenClose { inbound in
                var session = SMTPSession(
                    channel: channel,
                    gate: connection.gate,
                    configuration: configuration,
                    policy: policy,
                    intake: intake,
                    sslContext: sslContext,
                    clientAddress: PeerAddress(ip),
                    logger: logger
                )
                session.dialogueEnding = { release.run() }
                session.underStress = { [limiter, configuration] in
                    limiter.isUnderStress(threshold: configuration.stressThreshold)
                }
                await withGracefulShutdownHandler {
                    await session.run(inbound)
                } onGracefulShutdown: {
                    channel.pipeline.fireUserInboundEventTriggered(SMTPShutdownSignal())
                }
            }
        } catch {
            logger.debug("connection close failed", metadata: ["smtp.error": "\(type(of: error))"])
        }
        logger.debug("connection closed")
    }
}

/// Runs a closure at most once, from whichever path gets there first.
private final class ReleaseOnce: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>
    init(_ action: @escaping @Sendable () -> Void) { self.action = Mutex(action) }
    func run() { action.withLock { action in defer { action = nil }; return action }?() }
}
