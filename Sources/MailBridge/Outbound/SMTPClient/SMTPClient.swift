public import Logging
public import NIOCore
import NIOPosix
import NIOSSL

/// Delivers one message to the configured smarthost (or a local test sink) over SwiftNIO, driven by
/// ``SMTPClientStateMachine``.
///
/// Security: talks to a remote server whose replies are untrusted (parsed by ``SMTPReplyParser`` with limits).
/// TLS verifies the certificate chain against the system store or a configured CA file and the host name
/// (RFC 6125) via `NIOSSLClientHandler`; STARTTLS (RFC 3207) refuses to start if the server sent anything after
/// its 220 (plaintext injection, RFC 3207 §5) and is required unless the configuration allows clear text to a
/// loopback sink. The message is checked and dot-stuffed by ``DotStuffer`` before any byte is written. Logs hold
/// steps and reply codes only: no addresses, no content, no credentials, no server text.
///
/// ```swift
/// let client = SMTPClient(configuration: configuration, logger: logger)
/// let result = await client.deliver(envelope, message: ByteBuffer(bytes: rfc5322Bytes))
/// ```
public struct SMTPClient: Sendable {
    public let configuration: SMTPClientConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(
        configuration: SMTPClientConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "mailbridge.smtp.client")
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.logger = logger
    }

    /// Sends `message` (RFC 5322 bytes with CRLF line ends) to the envelope's recipients. Never throws: every
    /// outcome is a ``DeliveryResult``. If the calling task is cancelled the result is a temporary failure with
    /// ``DeliveryFailure/Code/cancelled``, unless the server had already accepted the message.
    public func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer) async -> DeliveryResult {
        await deliver(envelope, message: message, recordAcceptance: {}, onAccepted: {})
    }

    /// As ``deliver(_:message:)``, with two records of the server's `250` to the final dot (issue 18 §4):
    /// `recordAcceptance` runs synchronously on the connection's event loop in the very read that parsed that
    /// `250` (see ``SMTPAcceptanceHandler``; it must be short and must not block), and `onAccepted` runs after it
    /// in the calling task, before QUIT and the connection's close, for the slower durable record.
    public func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer,
                        recordAcceptance: @escaping @Sendable () -> Void,
                        onAccepted: @escaping @Sendable () async -> Void) async -> DeliveryResult {
        let started = ContinuousClock.now
        let result = await attempt(envelope, message: message,
                                   trigger: SMTPAcceptanceTrigger(record: recordAcceptance), onAccepted: onAccepted)
        let elapsed = ContinuousClock.now - started
        logger.info(
            "delivery attempt finished",
            metadata: [
                "smtp.result": "\(result)", "smtp.recipients": "\(envelope.recipients.count)",
                "smtp.elapsed": "\(elapsed)",
            ])
        return result
    }

    private func attempt(_ envelope: OutboundEnvelope, message: ByteBuffer, trigger: SMTPAcceptanceTrigger,
                         onAccepted: @escaping @Sendable () async -> Void) async -> DeliveryResult {
        let startedAt = ContinuousClock.now
        do {
            try configuration.validate()
        } catch {
            return DeliveryResult(failure: error)
        }
        let encoded: DotStuffer.Encoded
        do {
            encoded = try DotStuffer.encode(message)
        } catch {
            logger.error("message refused before sending", metadata: ["smtp.reason": "\(error)"])
            return .permanentFailure(DeliveryFailure(.messageInvalid))
        }
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = configuration.tlsMode == .none ? nil : try makeTLSContext()
        } catch {
            logger.error("TLS configuration unusable", metadata: ["smtp.error": "\(type(of: error))"])
            return .temporaryFailure(DeliveryFailure(.configurationInvalid, step: .connect))
        }

        let gate = SMTPFramingGate()
        let channel: NIOAsyncChannel<SMTPInboundEvent, ByteBuffer>
        do {
            channel = try await connect(gate: gate, trigger: trigger,
                                        implicitTLS: configuration.tlsMode == .implicit ? tlsContext : nil)
        } catch {
            if Task.isCancelled { return .temporaryFailure(DeliveryFailure(.cancelled, step: .connect)) }
            let code: DeliveryFailure.Code = Self.isTLSError(error) ? .tlsFailed : .connectionFailed
            return .temporaryFailure(DeliveryFailure(code, step: .connect))
        }

        // Backstop for the overall deadline: the event handler reports it as an event, but a write blocked by a
        // peer that stopped reading would never see that event. Closing the channel ends the write.
        let backstop = channel.channel.eventLoop.scheduleTask(in: TimeAmount(configuration.deliveryTimeout)) {
            channel.channel.close(promise: nil)
        }
        defer { backstop.cancel() }

        var conversation = SMTPClientConversation(
            machine: SMTPClientStateMachine(
                .init(
                    configuration: configuration, envelope: envelope, messageSize: encoded.messageSize,
                    has8BitContent: encoded.has8BitContent)),
            parser: SMTPReplyParser(limits: configuration.replyLimits), encoded: encoded, gate: gate,
            tlsContext: tlsContext, host: configuration.host, logger: logger)
        conversation.onAccepted = onAccepted
        conversation.acceptanceTrigger = trigger
        do {
            return try await channel.executeThenClose { inbound, outbound in
                try await conversation.run(channel: channel.channel, inbound: inbound, outbound: outbound)
            }
        } catch {
            let code: DeliveryFailure.Code =
                if Task.isCancelled { .cancelled }
                else if ContinuousClock.now - startedAt >= configuration.deliveryTimeout { .timeout }
                else if Self.isTLSError(error) { .tlsFailed }
                else { .connectionClosed }
            if case .close(let result) = conversation.machine.failed(code) { return result }
            return .temporaryFailure(DeliveryFailure(.internalError))
        }
    }

    private func connect(
        gate: SMTPFramingGate, trigger: SMTPAcceptanceTrigger, implicitTLS: NIOSSLContext?
    ) async throws -> NIOAsyncChannel<SMTPInboundEvent, ByteBuffer> {
        let limits = configuration.replyLimits
        let host = configuration.host
        let stepTimeout = configuration.stepTimeout
        let deliveryTimeout = configuration.deliveryTimeout
        return try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(stepTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: configuration.address, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    if let implicitTLS {
                        // RFC 8314 §3.3: TLS from the first byte; the handler verifies chain and host name.
                        try operations.addHandler(NIOSSLClientHandler(context: implicitTLS, serverHostname: host))
                    }
                    try operations.addHandler(
                        ByteToMessageHandler(
                            SMTPFramingDecoder(maximumLineLength: limits.maximumLineLength, gate: gate),
                            maximumBufferSize: 2 * limits.maximumLineLength))
                    // Right after the framer: the 250 to the final dot is recorded before it goes any further.
                    try operations.addHandler(SMTPAcceptanceHandler(trigger: trigger, limits: limits))
                    try operations.addHandler(
                        SMTPConnectionEventHandler(idleTimeout: stepTimeout, sessionDeadline: deliveryTimeout))
                    try operations.addHandler(TLSEventReadCompleteHandler())
                    return try NIOAsyncChannel<SMTPInboundEvent, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification  // chain and host name
        tls.minimumTLSVersion = .tlsv12  // RFC 8996, RFC 9325 §3.1.1
        switch configuration.trustRoots {
        case .system: tls.trustRoots = .default
        case .caFile(let path): tls.trustRoots = .file(path)
        }
        return try NIOSSLContext(configuration: tls)
    }

    static func isTLSError(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
    }
}
