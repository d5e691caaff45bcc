import Logging
import NIOCore
import NIOSSL

/// One connection's loop: events from the channel go into the state machine, its actions go out to the channel.
/// Lives only inside ``SMTPClient/deliver(_:message:)``.
struct SMTPClientConversation {
    var machine: SMTPClientStateMachine
    var parser: SMTPReplyParser
    let encoded: DotStuffer.Encoded
    let gate: SMTPFramingGate
    let tlsContext: NIOSSLContext?
    let host: String
    let logger: Logger
    /// Frames taken from the inbound stream; compared with the framer's count at STARTTLS.
    private var framesRead = 0
    /// Called once, as soon as the server accepted the message and before QUIT (see ``SMTPClient``).
    var onAccepted: @Sendable () async -> Void = {}
    /// Armed just before the body is written, so ``SMTPAcceptanceHandler`` records the 250 to the final dot.
    var acceptanceTrigger: SMTPAcceptanceTrigger?
    private var reportedAcceptance = false

    init(
        machine: SMTPClientStateMachine, parser: SMTPReplyParser, encoded: DotStuffer.Encoded, gate: SMTPFramingGate,
        tlsContext: NIOSSLContext?, host: String, logger: Logger
    ) {
        self.machine = machine
        self.parser = parser
        self.encoded = encoded
        self.gate = gate
        self.tlsContext = tlsContext
        self.host = host
        self.logger = logger
    }

    mutating func run(
        channel: any Channel, inbound: NIOAsyncChannelInboundStream<SMTPInboundEvent>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws -> DeliveryResult {
        for try await event in inbound {
            let action: SMTPClientStateMachine.Action
            switch event {
            case .frame(let frame):
                framesRead += 1
                do {
                    guard let reply = try parser.consume(frame) else { continue }
                    logger.debug("reply", metadata: ["smtp.step": "\(machine.step)", "smtp.reply": "\(reply)"])
                    action = machine.receivedReply(reply)
                } catch {
                    action = machine.failed(.malformedReply)
                }
            case .idleTimeout, .sessionDeadline:
                action = machine.failed(.timeout)  // RFC 5321 §4.5.3.2
            case .tlsEstablished:
                action = machine.tlsEstablished()
            case .shutdown, .progressCheck:
                continue
            }
            if let result = try await perform(action, channel: channel, outbound: outbound) { return result }
        }
        guard case .close(let result) = machine.failed(Task.isCancelled ? .cancelled : .connectionClosed) else {
            return .temporaryFailure(DeliveryFailure(.internalError))
        }
        return result
    }

    /// Carries out an action; returns the result once the dialogue is over.
    private mutating func perform(
        _ first: SMTPClientStateMachine.Action, channel: any Channel,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws -> DeliveryResult? {
        var action = first
        while true {
            switch action {
            case .send(let command):
                if machine.hasDelivered && !reportedAcceptance {
                    // The smarthost's 250 is recorded before QUIT: a crash from here on resends nothing.
                    reportedAcceptance = true
                    await onAccepted()
                }
                logger.debug("command", metadata: ["smtp.command": "\(command)"])
                try await outbound.write(command.wireBytes)
                return nil
            case .sendBody:
                acceptanceTrigger?.arm()
                try await outbound.write(encoded.data)
                return nil
            case .wait:
                return nil
            case .close(let result):
                return result
            case .startTLS:
                if try await startTLS(channel: channel) { return nil }
                action = machine.failed(.tlsFailed)
            }
        }
    }

    /// Inserts the TLS handler in front of the framer, on the event loop, but only if the server sent nothing
    /// after its 220 (RFC 3207 §5: anything buffered now would be plaintext read as if it came over TLS).
    private func startTLS(channel: any Channel) async throws -> Bool {
        guard let tlsContext, !parser.isInsideReply else { return false }
        let gate = self.gate
        let framesRead = self.framesRead
        let host = self.host
        return try await channel.eventLoop.submit {
            guard gate.emittedFrames == framesRead, gate.bufferedBytes == 0 else { return false }
            let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: host)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            return true
        }.get()
    }
}
