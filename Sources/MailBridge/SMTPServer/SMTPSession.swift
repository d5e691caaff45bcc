import Foundation
import Logging
import NIOCore
import NIOSSL

/// One SMTP connection: reads events, feeds the state machine, performs its actions (STYLE.md §1, §12).
///
/// Security: everything read here is untrusted. Commands go through ``SMTPCommandParser``, data through
/// ``DataReader`` into a ``SpoolFile``; the 250 after DATA is written only after ``MessageIntake/accept(_:)``
/// returned. Logs carry connection and queue IDs, sizes, verbs and reply codes, never addresses or content.
struct SMTPSession {
    /// State of one DATA phase.
    private struct DataPhase {
        var reader: DataReader
        var file: SpoolFile?
        var startedAt: ContinuousClock.Instant
    }

    let channel: any Channel
    let gate: SMTPFramingGate
    let configuration: SMTPServerConfiguration
    let spool: SpoolIntake
    let intake: any MessageIntake
    let sslContext: NIOSSLContext?
    let clientAddress: PeerAddress?
    var logger: Logger
    /// Called once, just before the reply that ends the session is written (221 to QUIT, 421), so the listener
    /// can stop counting the session before the client can reconnect.
    var dialogueEnding: @Sendable () -> Void = {}
    /// Whether the listener is near its connection limit (stress mode; see ``SMTPServerConfiguration``).
    var underStress: @Sendable () -> Bool = { false }

    private let parser: SMTPCommandParser
    private var machine: SMTPServerStateMachine
    private var consumedFrames = 0
    private var lastWrite = ContinuousClock.now
    /// The last time the client moved mail forward: greeting, any command but NOOP/RSET/HELP/VRFY, message data.
    private var lastProgress = ContinuousClock.now
    private var awaitingTLS = false
    private var discardingOverlongCommand = false
    private var data: DataPhase?
    private var finishedData: DataPhase?

    init(
        channel: any Channel,
        gate: SMTPFramingGate,
        configuration: SMTPServerConfiguration,
        policy: RecipientPolicy,
        spool: SpoolIntake,
        intake: any MessageIntake,
        sslContext: NIOSSLContext?,
        clientAddress: PeerAddress?,
        logger: Logger
    ) {
        self.channel = channel
        self.gate = gate
        self.configuration = configuration
        self.spool = spool
        self.intake = intake
        self.sslContext = sslContext
        self.clientAddress = clientAddress
        self.logger = logger
        self.parser = SMTPCommandParser(maximumLineLength: configuration.maximumCommandLineLength)
        self.machine = SMTPServerStateMachine(
            configuration: configuration,
            policy: policy,
            tlsAvailable: sslContext != nil
        )
    }

    /// Runs until the client quits, a limit closes the session, or the connection fails. Never throws.
    mutating func run(_ inbound: NIOAsyncChannelInboundStream<SMTPInboundEvent>) async {
        do {
            try await write([machine.greeting])
            var iterator = inbound.makeAsyncIterator()
            while let event = try await iterator.next() {
                var action: SMTPServerStateMachine.Action? = try await handle(event)
                while let current = action {
                    action = nil
                    switch current {
                    case .none:
                        break
                    case .send(let replies, let close):
                        if close { dialogueEnding() }
                        try await write(replies)
                        if close { return cleanUp() }
                    case .startData(let reply):
                        startData()
                        try await write([reply])
                    case .startTLS(let reply):
                        action = try await startTLS(reply)
                    case .storeMessage(let envelope):
                        action = await store(envelope)
                    }
                }
            }
            logger.debug("client closed the connection")
        } catch {
            logger.debug("connection ended", metadata: ["smtp.error": "\(type(of: error))"])
        }
        cleanUp()
    }

    // MARK: - Events

    private mutating func handle(_ event: SMTPInboundEvent) async throws -> SMTPServerStateMachine.Action {
        switch event {
        case .frame(let frame):
            consumedFrames += 1
            if awaitingTLS {
                logger.notice("plaintext received before TLS handshake (STARTTLS injection), closing")
                return machine.receivedPlaintextAfterStartTLS()
            }
            if data != nil {
                lastProgress = .now
                return try await handleData(frame)
            }
            return await handleCommand(frame)
        case .idleTimeout:
            // The handler re-arms after firing; a timeout that fired while we were busy storing is stale.
            guard ContinuousClock.now - lastWrite >= configuration.commandTimeout else { return .none }
            logger.info("command timeout")
            return abortData(machine.timedOut())
        case .sessionDeadline:
            logger.info("session deadline reached")
            return abortData(machine.timedOut())
        case .shutdown:
            return machine.shutdownRequested()
        case .tlsEstablished:
            awaitingTLS = false
            logger.debug("TLS established")
            return machine.tlsEstablished()
        case .progressCheck:
            return checkProgress()
        }
    }

    /// Stress mode (Postfix's, issue 18): near the connection limit a client that moved no mail for the stress
    /// timeout is closed, whatever NOOPs it sends; without stress, NOOPs never stretch a session past the command
    /// timeout either. Only between commands: never while message data is read or stored.
    private mutating func checkProgress() -> SMTPServerStateMachine.Action {
        guard data == nil, finishedData == nil, !awaitingTLS else { return .none }
        switch machine.state {
        case .awaitingHello, .ready, .mailTransaction: break
        default: return .none
        }
        let idle = ContinuousClock.now - max(lastProgress, lastWrite - configuration.commandTimeout)
        if idle >= configuration.commandTimeout {
            logger.info("no progress within the command timeout")
            return machine.timedOut()
        }
        if ContinuousClock.now - lastProgress >= configuration.stressCommandTimeout, underStress() {
            logger.notice("idle session closed under load")
            return machine.closedIdleUnderStress()
        }
        return .none
    }

    private mutating func handleCommand(_ frame: SMTPFrame) async -> SMTPServerStateMachine.Action {
        if discardingOverlongCommand {
            if frame.endsLine { discardingOverlongCommand = false }
            return .none
        }
        guard frame.endsLine else {
            discardingOverlongCommand = true
            return machine.receivedInvalidCommand(SMTPReply(.syntaxError, .syntaxError, "line too long"))
        }
        do {
            let command = try parser.parse(frame.bytes)
            logger.trace("command", metadata: ["smtp.verb": "\(command.verb)"])
            // RFC 2920 §3.1: DATA ends a pipelined group; text sent before the 354 is refused (Postfix's
            // reject_unauth_pipelining), whether or not DATA itself would be accepted.
            if command == .data, configuration.rejectPipelinedData, await inputPendingAfterCurrentFrame() {
                logger.notice("input pipelined after DATA, closing")
                return machine.receivedPipelinedData()
            }
            if !command.isJunk { lastProgress = .now }
            machine.underStress = underStress()
            return machine.receivedCommand(command)
        } catch {
            logger.debug("invalid command", metadata: ["smtp.reply": "\(error)"])
            return machine.receivedInvalidCommand(error)
        }
    }

    private mutating func handleData(_ frame: SMTPFrame) async throws -> SMTPServerStateMachine.Action {
        guard var phase = data else { return .none }
        switch phase.reader.consume(frame.bytes, endsLine: frame.endsLine) {
        case .content(let bytes):
            if bytes.readableBytes > 0, let file = phase.file {
                do {
                    try await file.append(bytes)
                } catch {
                    logger.error("spool write failed", metadata: ["smtp.error": "\(error)"])
                    file.discard()
                    phase.file = nil  // keep reading; the store step answers 451
                }
            }
            data = phase
            return checkDataRate(phase)
        case .endOfData:
            data = nil
            if let rejection = phase.reader.rejection {
                phase.file?.discard()
                logger.info(
                    "message rejected",
                    metadata: ["smtp.reason": "\(rejection)", "smtp.size": "\(phase.reader.messageSize)"]
                )
                return machine.dataFinished(rejection: rejection)
            }
            finishedData = phase
            return machine.dataFinished(rejection: nil)
        }
    }

    /// Slowloris guard: after the grace period the average rate must reach `minimumDataRate`.
    private mutating func checkDataRate(_ phase: DataPhase) -> SMTPServerStateMachine.Action {
        let elapsed = ContinuousClock.now - phase.startedAt
        guard elapsed > configuration.dataRateGracePeriod else { return .none }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard Double(phase.reader.messageSize) < Double(configuration.minimumDataRate) * seconds else { return .none }
        logger.info("data rate too low", metadata: ["smtp.size": "\(phase.reader.messageSize)"])
        return abortData(machine.timedOut())
    }

    private mutating func abortData(_ action: SMTPServerStateMachine.Action) -> SMTPServerStateMachine.Action {
        data?.file?.discard()
        data = nil
        return action
    }

    // MARK: - Actions

    private mutating func startData() {
        let queueID = QueueID.make(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000))
        var file: SpoolFile?
        do {
            file = try spool.makeSpoolFile(queueID: queueID)
        } catch {
            logger.error("cannot create spool file", metadata: ["smtp.error": "\(error)"])
        }
        let reader = DataReader(
            maximumMessageSize: configuration.maximumMessageSize,
            maximumLineLength: configuration.maximumTextLineLength,
            maximumHeaderSize: configuration.maximumHeaderSize
        )
        data = DataPhase(reader: reader, file: file, startedAt: .now)
    }

    /// Durable intake, then the reply (STYLE.md §10). Nothing content-related decides the reply.
    private mutating func store(_ envelope: SMTPEnvelope) async -> SMTPServerStateMachine.Action {
        let phase = finishedData
        finishedData = nil
        guard let file = phase?.file else { return machine.messageStoreFailed() }
        do {
            try await file.finish()
            let message = InboundMessage(
                envelope: InboundMessage.Envelope(
                    reversePath: envelope.reversePath,
                    recipients: envelope.recipients,
                    clientAddress: clientAddress,
                    receivedAt: Date(),
                    queueID: file.queueID,
                    smtpUTF8: envelope.parameters.smtpUTF8,
                    eightBitMIME: envelope.parameters.body == .eightBitMIME
                ),
                spoolFile: file.url,
                size: file.size
            )
            let receipt = try await intake.accept(message)
            logger.info(
                "message accepted",
                metadata: [
                    "smtp.queue_id": "\(receipt.queueID)", "smtp.size": "\(file.size)",
                    "smtp.recipients": "\(envelope.recipients.count)",
                ]
            )
            return machine.messageStored(queueID: receipt.queueID.rawValue)
        } catch {
            file.discard()
            logger.error(
                "intake failed",
                metadata: ["smtp.queue_id": "\(file.queueID)", "smtp.error": "\(type(of: error))"]
            )
            return machine.messageStoreFailed()
        }
    }

    /// Whether the client sent anything after the frame being handled (read on the channel's event loop, where
    /// the framer counts).
    private func inputPendingAfterCurrentFrame() async -> Bool {
        let consumed = consumedFrames
        let gate = self.gate
        return (try? await channel.eventLoop.submit {
            gate.emittedFrames != consumed || gate.bufferedBytes != 0
        }.get()) ?? true
    }

    /// RFC 3207 §4.2/§5: refuse if anything was pipelined after STARTTLS; otherwise write 220 and add the TLS
    /// handler in the same event-loop turn the write completes, so no later plaintext reaches the framer.
    private mutating func startTLS(_ reply: SMTPReply) async throws -> SMTPServerStateMachine.Action? {
        guard let sslContext else { return machine.receivedPlaintextAfterStartTLS() }
        let consumed = consumedFrames
        let gate = self.gate
        let channel = self.channel
        let bytes = reply.wireBytes
        let started = try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Bool> in
            guard gate.emittedFrames == consumed, gate.bufferedBytes == 0 else {
                return channel.eventLoop.makeSucceededFuture(false)
            }
            return channel.writeAndFlush(bytes).flatMapThrowing {
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLServerHandler(context: sslContext),
                    position: .first
                )
                return true
            }
        }.get()
        guard started else {
            logger.notice("data pipelined after STARTTLS (injection attempt), closing")
            return machine.receivedPlaintextAfterStartTLS()
        }
        lastWrite = .now
        awaitingTLS = true
        logger.debug("reply", metadata: ["smtp.reply": "\(reply)"])
        return nil
    }

    private mutating func write(_ replies: [SMTPReply]) async throws {
        var buffer = channel.allocator.buffer(capacity: 64)
        for reply in replies { reply.encode(into: &buffer) }
        try await channel.writeAndFlush(buffer).get()
        lastWrite = .now
        logger.debug("reply", metadata: ["smtp.reply": "\(replies.map(\.description).joined(separator: ","))"])
    }

    private mutating func cleanUp() {
        data?.file?.discard()
        data = nil
        finishedData?.file?.discard()
        finishedData = nil
    }
}
