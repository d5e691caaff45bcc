import Foundation
import Logging
import NIOCore
import NIOSSL

/// One SMTP connection: reads events, feeds the state machine, performs its actions (STYLE.md §1, §12).
///
/// A thin loop: every protocol decision and every piece of per-phase state (the DATA phase's reader, spool file
/// handle and start time; skipping an overlong line; waiting for TLS) is in ``SMTPServerStateMachine``. The
/// session does the I/O the actions ask for (write replies, create, append to, discard and finish spool files,
/// check for pipelined input, start TLS, hand the message to the intake) and feeds the results back as events.
///
/// Security: everything read here is untrusted. Commands go through ``SMTPCommandParser``, data through
/// ``DataReader`` into a ``SpoolFile``; the 250 after DATA is written only after ``MessageIntake/accept(_:)``
/// returned. Logs carry connection and queue IDs, sizes and reply codes, never addresses or content.
struct SMTPSession {
    let channel: any Channel
    let gate: SMTPFramingGate
    let configuration: SMTPServerConfiguration
    let intake: any MessageIntake
    let sslContext: NIOSSLContext?
    let clientAddress: PeerAddress?
    var logger: Logger
    /// Called once, just before the reply that ends the session is written (221 to QUIT, 421), so the listener
    /// can stop counting the session before the client can reconnect.
    var dialogueEnding: @Sendable () -> Void = {}
    /// Whether the listener is near its connection limit (stress mode; see ``SMTPServerConfiguration``).
    var underStress: @Sendable () -> Bool = { false }
    /// The time the machine's timing checks are given (the session tests run it on an event loop's virtual time).
    let now: @Sendable () -> ContinuousClock.Instant

    private var machine: SMTPServerStateMachine
    private var consumedFrames = 0
    /// The open spool files, by the queue ID the machine's state and actions name them with (at most one). Only a
    /// table of handles: what happens to a file is decided by the machine.
    private var spoolFiles: [QueueID: SpoolFile] = [:]

    init(
        channel: any Channel,
        gate: SMTPFramingGate,
        configuration: SMTPServerConfiguration,
        policy: RecipientPolicy,
        intake: any MessageIntake,
        sslContext: NIOSSLContext?,
        clientAddress: PeerAddress?,
        logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.channel = channel
        self.gate = gate
        self.configuration = configuration
        self.intake = intake
        self.sslContext = sslContext
        self.clientAddress = clientAddress
        self.logger = logger
        self.now = now
        self.machine = SMTPServerStateMachine(
            configuration: configuration,
            policy: policy,
            tlsAvailable: sslContext != nil,
            now: now()
        )
    }

    /// Runs until the client quits, a limit closes the session, or the connection fails. Never throws.
    mutating func run(_ inbound: NIOAsyncChannelInboundStream<SMTPInboundEvent>) async {
        do {
            try await write([machine.greeting])
            var iterator = inbound.makeAsyncIterator()
            while let event = try await iterator.next() {
                var action: SMTPServerStateMachine.Action? = handle(event)
                while let current = action {
                    action = nil
                    switch current {
                    case .none:
                        break
                    case .send(let replies, let close):
                        if close {
                            dialogueEnding()
                            // Timeouts, limits, stress mode, injection attempts: the closing reply says which.
                            let last = replies.last.map(\.description) ?? ""
                            if replies.last?.code != .closing {
                                logger.info("closing", metadata: ["smtp.reply": "\(last)"])
                            }
                        }
                        try await write(replies)
                        if close { return cleanUp() }
                    case .openSpool:
                        let queueID = openSpool()
                        action = machine.spoolOpened(queueID, at: now())
                    case .appendToSpool(let queueID, let bytes):
                        action = await append(bytes, to: queueID)
                    case .discardSpool(let queueID, let replies, let close):
                        discard(queueID)
                        if !replies.isEmpty || close { action = .send(replies, close: close) }
                    case .checkPipelinedInput:
                        let pending = await inputPendingAfterCurrentFrame()
                        if pending { logger.notice("input pipelined after DATA, closing") }
                        action = machine.pipeliningChecked(inputPending: pending)
                    case .startTLS(let reply):
                        action = try await startTLS(reply)
                    case .storeMessage(let envelope, let queueID):
                        action = await store(envelope, spool: queueID)
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

    private mutating func handle(_ event: SMTPInboundEvent) -> SMTPServerStateMachine.Action {
        switch event {
        case .frame(let frame):
            consumedFrames += 1
            machine.underStress = underStress()
            return machine.receivedFrame(frame, at: now())
        case .idleTimeout:
            return machine.idleTimeoutFired(at: now())
        case .sessionDeadline:
            logger.info("session deadline reached")
            return machine.timedOut()
        case .shutdown:
            return machine.shutdownRequested()
        case .tlsEstablished:
            logger.debug("TLS established")
            return machine.tlsEstablished()
        case .progressCheck:
            return machine.progressCheck(at: now(), underStress: underStress())
        }
    }

    // MARK: - Actions

    /// Creates the spool file for a message; nil when that failed (the machine answers 451 after the data).
    private mutating func openSpool() -> QueueID? {
        let queueID = QueueID.make(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000))
        do {
            spoolFiles[queueID] = try intake.makeSpoolFile(queueID: queueID)
            return queueID
        } catch {
            logger.error("cannot create spool file", metadata: ["smtp.error": "\(error)"])
            return nil
        }
    }

    private mutating func append(_ bytes: ByteBuffer, to queueID: QueueID) async -> SMTPServerStateMachine.Action? {
        guard let file = spoolFiles[queueID] else { return machine.spoolWriteFailed() }
        do {
            try await file.append(bytes)
            return nil
        } catch {
            logger.error("spool write failed", metadata: ["smtp.error": "\(error)"])
            return machine.spoolWriteFailed()
        }
    }

    private mutating func discard(_ queueID: QueueID) {
        guard let file = spoolFiles.removeValue(forKey: queueID) else { return }
        logger.info("message discarded", metadata: ["smtp.queue_id": "\(queueID)", "smtp.size": "\(file.size)"])
        file.discard()
    }

    /// Durable intake, then the reply (STYLE.md §10). Nothing content-related decides the reply.
    private mutating func store(
        _ envelope: SMTPEnvelope,
        spool queueID: QueueID
    ) async -> SMTPServerStateMachine.Action {
        guard let file = spoolFiles[queueID] else { return machine.messageStoreFailed() }
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
            spoolFiles[queueID] = nil  // the intake has it now
            logger.info(
                "message accepted",
                metadata: [
                    "smtp.queue_id": "\(receipt.queueID)", "smtp.size": "\(file.size)",
                    "smtp.recipients": "\(envelope.recipients.count)",
                ]
            )
            return machine.messageStored(queueID: receipt.queueID.rawValue)
        } catch {
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
        machine.repliesWritten(at: now())
        logger.debug("reply", metadata: ["smtp.reply": "\(reply)"])
        return nil
    }

    private mutating func write(_ replies: [SMTPReply]) async throws {
        var buffer = channel.allocator.buffer(capacity: 64)
        for reply in replies { reply.encode(into: &buffer) }
        try await channel.writeAndFlush(buffer).get()
        machine.repliesWritten(at: now())
        logger.debug("reply", metadata: ["smtp.reply": "\(replies.map(\.description).joined(separator: ","))"])
    }

    /// Deletes any spool file the machine did not hand to the intake (connection lost, timeout, session bug).
    private mutating func cleanUp() {
        for file in spoolFiles.values { file.discard() }
        spoolFiles = [:]
    }
}
