import MailValues
public import NIOCore

/// The inbound SMTP protocol state (RFC 5321 §3, §4.1.4) as a pure value: events in, actions out. No I/O.
///
/// Security: drives everything an untrusted client can ask for. Only configured counselling addresses are
/// accepted as recipients (no relay), there is no AUTH, and every limit of ``SMTPServerConfiguration`` that
/// concerns commands, message data and idle time is enforced here. Client mistakes are ordinary replies (counted
/// towards `maximumErrors`); events that are impossible in the current state are session bugs: they move the
/// machine to `.error`, where every later event answers ``SMTPReply/internalError`` and closes.
///
/// Per-phase data lives in the state cases (STYLE.md "State inside the machine"): the DATA phase carries its
/// reader, spool file handle and start time (``SMTPDataPhase``), and skipping an overlong command line or waiting
/// for the pipelining check are states of their own. The session reads frames and signals, feeds them in, and
/// performs the actions; the spool file is named by its queue ID (the session holds the open file, see
/// ``SMTPDataPhase``).
///
/// ```swift
/// var machine = SMTPServerStateMachine(configuration: .init(), policy: policy, tlsAvailable: false)
/// switch machine.receivedFrame(frame, at: .now) {
/// case .send(let replies, let close): ...
/// case .openSpool: machine.spoolOpened(queueID, at: .now)
/// case .appendToSpool(let queueID, let bytes): ...
/// case .discardSpool(let queueID, let replies, let close): ...
/// case .checkPipelinedInput: machine.pipeliningChecked(inputPending: ...)
/// case .startTLS(let reply): ...
/// case .storeMessage(let envelope, let queueID): ...
/// case .none: break
/// }
/// ```
public struct SMTPServerStateMachine: Sendable {
    /// What the session must do next.
    public enum Action: Equatable, Sendable {
        /// Write the replies in order; then close the connection if `close`.
        case send([SMTPReply], close: Bool)
        /// Create a spool file for the message and report it with ``spoolOpened(_:at:)`` (nil if that failed),
        /// which answers the 354.
        case openSpool
        /// Append message octets to the spool file; report a failed write with ``spoolWriteFailed()``.
        case appendToSpool(QueueID, ByteBuffer)
        /// Delete the spool file, then write the replies (if any) and close if `close`.
        case discardSpool(QueueID, thenSend: [SMTPReply], close: Bool)
        /// Find out whether the client sent anything after the current frame (RFC 2920 §3.1: DATA ends a pipelined
        /// group) and report it with ``pipeliningChecked(inputPending:)``.
        case checkPipelinedInput
        /// Write the 220 reply, start the TLS handshake, then call ``tlsEstablished()``.
        case startTLS(SMTPReply)
        /// Finish (fsync) the spool file, hand it with the envelope to the intake, then call
        /// ``messageStored(queueID:)`` or ``messageStoreFailed()``.
        case storeMessage(SMTPEnvelope, spool: QueueID)
        /// Nothing to do now.
        case none

        static func reply(_ reply: SMTPReply) -> Action { .send([reply], close: false) }
        static func close(_ replies: SMTPReply...) -> Action { .send(replies, close: true) }
    }

    /// The per-session facts that survive RSET (RFC 5321 §4.1.1.5) but not STARTTLS (RFC 3207 §4.2).
    public struct Session: Hashable, Sendable {
        public var clientName: String
        public var isExtended: Bool
        public var isTLS: Bool
    }

    public enum State: Hashable, Sendable {
        /// Greeting sent; EHLO/HELO needed. Carries whether TLS is active.
        case awaitingHello(isTLS: Bool)
        /// Greeted, no mail transaction.
        case ready(Session)
        /// After MAIL, collecting RCPTs.
        case mailTransaction(Session, SMTPEnvelope)
        /// DATA accepted; the session is creating the spool file.
        case openingSpool(Session, SMTPEnvelope)
        /// After 354, reading data through the phase's reader into its spool file.
        case receivingData(Session, SMTPEnvelope, SMTPDataPhase)
        /// End of data read; waiting for the durable intake of the spool file.
        case storingMessage(Session, SMTPEnvelope, spool: QueueID)
        /// An overlong command line was answered; its rest is skipped, then the inner state resumes.
        indirect case discardingOverlongLine(State)
        /// DATA arrived with `rejectPipelinedData`; waiting for the session's check. Carries the state DATA came in.
        indirect case checkingPipelining(State)
        /// 220 to STARTTLS sent; waiting for the handshake. Any frame now is plaintext injection (RFC 3207 §5).
        case startingTLS
        /// QUIT answered or the connection is being closed.
        case closed
        /// A session bug was detected; every event fails.
        case error
    }

    public let configuration: SMTPServerConfiguration
    public let policy: RecipientPolicy
    public let tlsAvailable: Bool
    public internal(set) var state: State = .awaitingHello(isTLS: false)
    public private(set) var errorCount = 0
    public private(set) var commandCount = 0
    /// Non-mail commands so far (NOOP, RSET, HELP, VRFY).
    public private(set) var junkCount = 0
    /// Set by the session from the listener's load before each command (stress mode).
    public var underStress = false
    public private(set) var isShuttingDown = false
    /// The last time the client moved mail forward: greeting, any command but NOOP/RSET/HELP/VRFY, message data.
    public internal(set) var lastProgress: ContinuousClock.Instant
    /// The last time the session wrote to the client (reported with ``repliesWritten(at:)``).
    public internal(set) var lastWrite: ContinuousClock.Instant
    let parser: SMTPCommandParser

    /// `now` is when the greeting is sent.
    public init(
        configuration: SMTPServerConfiguration,
        policy: RecipientPolicy,
        tlsAvailable: Bool,
        now: ContinuousClock.Instant = .now
    ) {
        self.configuration = configuration
        self.policy = policy
        self.tlsAvailable = tlsAvailable
        self.parser = SMTPCommandParser(maximumLineLength: configuration.maximumCommandLineLength)
        self.lastProgress = now
        self.lastWrite = now
    }

    /// The 220 greeting (RFC 5321 §4.3.1). No enhanced code on the greeting (RFC 2034 §3).
    public var greeting: SMTPReply {
        SMTPReply(.serviceReady, nil, "\(configuration.hostname) ESMTP MailBridge")
    }

    /// True while message data is being read or stored: shutdown waits for it (STYLE.md §12).
    public var isInMessage: Bool {
        switch state {
        case .openingSpool, .receivingData, .storingMessage: true
        default: false
        }
    }

    // MARK: - Events

    /// A syntactically valid command. ``receivedFrame(_:at:)`` parses command lines and calls this (after the
    /// pipelining check for DATA); tests may call it directly.
    public mutating func receivedCommand(_ command: SMTPCommand) -> Action {
        if let limit = countCommand() { return limit }
        if command.isJunk {
            junkCount += 1
            guard junkCount <= (underStress ? configuration.stressJunkCommands : configuration.maximumJunkCommands)
            else {
                state = .closed
                return .close(.idleUnderLoad)
            }
        }
        do throws(SMTPReply) {
            return try handle(command)
        } catch {
            return clientError(error)
        }
    }

    /// More input arrived after DATA before the 354 was sent: refuse and close (``SMTPReply/improperPipelining``).
    public mutating func receivedPipelinedData() -> Action {
        if case .error = state { return fail() }
        state = .closed
        return .close(.improperPipelining)
    }

    /// Stress mode ended the session of a client that made no progress (``SMTPServerConfiguration``).
    public mutating func closedIdleUnderStress() -> Action {
        if case .error = state { return fail() }
        state = .closed
        return .close(.idleUnderLoad)
    }

    /// A line the parser refused; `reply` is the parser's error.
    public mutating func receivedInvalidCommand(_ reply: SMTPReply) -> Action {
        if let limit = countCommand() { return limit }
        switch state {
        case .awaitingHello, .ready, .mailTransaction: return clientError(reply)
        default: return fail()
        }
    }

    /// The end of data was read. The reader's rejection decides; the reply never depends on content beyond these
    /// syntax and size checks (decryption happens after the 250).
    mutating func dataFinished(_ session: Session, _ envelope: SMTPEnvelope, _ phase: SMTPDataPhase) -> Action {
        if let rejection = phase.reader.rejection {
            state = .ready(session)  // RFC 5321 §4.1.1.4: a failed transaction clears the buffers
            return discarding(phase.spool, afterMessage(clientError(rejection.reply)))
        }
        guard let spool = phase.spool else {
            state = .ready(session)
            return afterMessage(.reply(.storageFailed))  // no spool file: nothing to store (STYLE.md §10)
        }
        state = .storingMessage(session, envelope, spool: spool)
        return .storeMessage(envelope, spool: spool)
    }

    /// The intake fsynced the message: answer 250 with the queue ID (RFC 5321 §4.1.1.4).
    public mutating func messageStored(queueID: String) -> Action {
        guard case .storingMessage(let session, _, _) = state else { return fail() }
        state = .ready(session)
        return afterMessage(.reply(SMTPReply(.ok, .success, "queued as \(queueID)")))
    }

    /// The intake failed: discard the spool file and answer 451 4.3.0 (STYLE.md §10).
    public mutating func messageStoreFailed() -> Action {
        guard case .storingMessage(let session, _, let spool) = state else { return fail() }
        state = .ready(session)
        return discarding(spool, afterMessage(.reply(.storageFailed)))
    }

    /// The TLS handshake after STARTTLS finished. Everything learnt before is discarded; the client must EHLO
    /// again (RFC 3207 §4.2).
    public mutating func tlsEstablished() -> Action {
        guard case .startingTLS = state else { return fail() }
        state = .awaitingHello(isTLS: true)
        return .none
    }

    /// Plaintext arrived after STARTTLS and before the handshake (RFC 3207 §5 command injection).
    public mutating func receivedPlaintextAfterStartTLS() -> Action {
        switch state {
        case .error: return fail()
        default:
            state = .closed
            return .close(.pipelinedAfterStartTLS)
        }
    }

    /// A command, data or session deadline passed: 421 4.4.2 and close; a message being read is discarded.
    public mutating func timedOut() -> Action {
        if case .error = state { return fail() }
        let spool = if case .receivingData(_, _, let phase) = state { phase.spool } else { QueueID?.none }
        state = .closed
        return discarding(spool, .close(.timedOut))
    }

    /// Graceful shutdown: idle sessions get 421 4.3.2 now; a message in progress is finished first.
    public mutating func shutdownRequested() -> Action {
        switch state {
        case .error: return fail()
        case .closed: return .none
        case .openingSpool, .receivingData, .storingMessage:
            isShuttingDown = true
            return .none
        default:
            state = .closed
            return .close(.shuttingDown)
        }
    }

    // MARK: - Commands

    private mutating func handle(_ command: SMTPCommand) throws(SMTPReply) -> Action {
        switch (command, state) {
        case (_, .openingSpool), (_, .receivingData), (_, .storingMessage), (_, .discardingOverlongLine),
            (_, .checkingPipelining), (_, .startingTLS), (_, .closed), (_, .error):
            return fail()

        case (.ehlo(let name), _), (.helo(let name), _):
            // RFC 5321 §4.1.4: EHLO/HELO may be repeated and resets any transaction.
            let extended = if case .ehlo = command { true } else { false }
            let isTLS = isTLSActive
            state = .ready(Session(clientName: name, isExtended: extended, isTLS: isTLS))
            return .reply(extended ? ehloReply(isTLS: isTLS) : SMTPReply(.ok, nil, configuration.hostname))

        case (.quit, _):
            state = .closed
            return .close(SMTPReply(.closing, .success, "bye"))  // RFC 5321 §4.1.1.10

        case (.noop, _):
            return .reply(SMTPReply(.ok, .success, "ok"))
        case (.help, _):
            return .reply(SMTPReply(.helpMessage, .success, "see RFC 5321"))
        case (.vrfy, _):
            return .reply(SMTPReply(.cannotVerify, .protocolOK, "cannot verify, send mail to find out"))

        case (.rset, .mailTransaction(let session, _)):
            state = .ready(session)
            return .reply(SMTPReply(.ok, .success, "reset"))
        case (.rset, _):
            return .reply(SMTPReply(.ok, .success, "reset"))

        case (.startTLS, _):
            return try startTLS()

        case (.mailFrom(let path, let parameters), .ready(let session)):
            try checkMail(path, parameters, session: session)
            state = .mailTransaction(session, SMTPEnvelope(reversePath: path, parameters: parameters))
            return .reply(SMTPReply(.ok, .senderOK, "sender ok"))
        case (.mailFrom, .mailTransaction):
            throw SMTPReply(.badSequence, .invalidCommand, "nested MAIL command")  // RFC 5321 §4.1.4
        case (.mailFrom, _):
            throw SMTPReply(.badSequence, .invalidCommand, "send EHLO or HELO first")

        case (.rcptTo(let address), .mailTransaction(let session, var envelope)):
            return try addRecipient(address, session: session, envelope: &envelope)
        case (.rcptTo, _):
            throw SMTPReply(.badSequence, .invalidCommand, "need MAIL before RCPT")

        case (.data, .mailTransaction(let session, let envelope)):
            guard !envelope.recipients.isEmpty else {
                throw SMTPReply(.badSequence, .invalidCommand, "need RCPT before DATA")  // RFC 5321 §3.3
            }
            state = .openingSpool(session, envelope)
            return .openSpool
        case (.data, _):
            throw SMTPReply(.badSequence, .invalidCommand, "need MAIL and RCPT before DATA")
        }
    }

    private var isTLSActive: Bool { Self.isTLSActive(in: state) }

    private static func isTLSActive(in state: State) -> Bool {
        switch state {
        case .awaitingHello(let isTLS): isTLS
        case .ready(let session), .mailTransaction(let session, _), .openingSpool(let session, _),
            .receivingData(let session, _, _), .storingMessage(let session, _, _):
            session.isTLS
        case .discardingOverlongLine(let inner), .checkingPipelining(let inner): isTLSActive(in: inner)
        case .startingTLS, .closed, .error: false
        }
    }

    /// EHLO keywords (RFC 5321 §4.1.1.1). STARTTLS only when configured and not yet active (RFC 3207 §4.2).
    private func ehloReply(isTLS: Bool) -> SMTPReply {
        var lines = [
            configuration.hostname,
            "SIZE \(configuration.maximumMessageSize)",  // RFC 1870 §4
            "8BITMIME",  // RFC 6152
            "PIPELINING",  // RFC 2920
            "ENHANCEDSTATUSCODES",  // RFC 2034
            "SMTPUTF8",  // RFC 6531
        ]
        if tlsAvailable && !isTLS { lines.append("STARTTLS") }  // RFC 3207
        let last = lines.removeLast()
        return SMTPReply(.ok, nil, last, precedingLines: lines)
    }

    private mutating func startTLS() throws(SMTPReply) -> Action {
        guard tlsAvailable else {
            throw SMTPReply(.commandNotImplemented, .invalidCommand, "STARTTLS not available")
        }
        switch state {
        case .awaitingHello(isTLS: false):
            state = .startingTLS
            return .startTLS(SMTPReply(.serviceReady, .success, "ready to start TLS"))  // RFC 3207 §4
        case .ready(let session) where !session.isTLS:
            state = .startingTLS
            return .startTLS(SMTPReply(.serviceReady, .success, "ready to start TLS"))
        case .mailTransaction:
            throw SMTPReply(.badSequence, .invalidCommand, "STARTTLS not allowed in a mail transaction")
        default:
            throw SMTPReply(.badSequence, .invalidCommand, "TLS already active")  // RFC 3207 §4.2
        }
    }

    private func checkMail(_ path: ReversePath, _ parameters: MailParameters, session: Session) throws(SMTPReply) {
        if !session.isExtended && parameters != MailParameters() {
            throw SMTPReply(.parametersNotRecognized, .invalidArguments, "parameters need EHLO")  // RFC 5321 §4.1.1.11
        }
        if let size = parameters.size, size > configuration.maximumMessageSize {
            throw SMTPReply(.exceededStorage, .messageTooBig, "message size exceeds limit")  // RFC 1870 §6.2
        }
        if let address = path.address, !parameters.smtpUTF8, !address.isASCII {
            throw SMTPReply(.mailboxNameNotAllowed, .nonASCIIAddressNotPermitted, "UTF-8 address needs SMTPUTF8")
        }
    }

    private mutating func addRecipient(
        _ address: EmailAddress,
        session: Session,
        envelope: inout SMTPEnvelope
    ) throws(SMTPReply) -> Action {
        if envelope.recipients.contains(where: { $0.canonical == address.canonical }) {
            return .reply(SMTPReply(.ok, .recipientOK, "recipient ok"))  // duplicate: accept once
        }
        guard envelope.recipients.count < configuration.maximumRecipients else {
            // RFC 5321 §4.5.3.1.10: 452 4.5.3, the client sends the rest in another transaction.
            return .reply(
                SMTPReply(.insufficientStorage, .tooManyRecipients, "too many recipients", isClientFault: false)
            )
        }
        if !envelope.parameters.smtpUTF8 && !address.isASCII {
            throw SMTPReply(.mailboxNameNotAllowed, .nonASCIIAddressNotPermitted, "UTF-8 address needs SMTPUTF8")
        }
        guard policy.accepts(address) else {
            throw SMTPReply(.mailboxUnavailable, .badDestinationMailbox, "no such recipient here")  // no relay
        }
        envelope.recipients.append(address)
        state = .mailTransaction(session, envelope)
        return .reply(SMTPReply(.ok, .recipientOK, "recipient ok"))
    }

    // MARK: - Limits and failures

    mutating func countCommand() -> Action? {
        if case .error = state { return fail() }
        commandCount += 1
        guard commandCount <= configuration.maximumCommands else {
            state = .closed
            return .close(.tooManyCommands)
        }
        return nil
    }

    mutating func clientError(_ reply: SMTPReply) -> Action {
        guard reply.isClientFault else { return .reply(reply) }
        errorCount += 1
        guard errorCount < configuration.maximumErrors else {
            state = .closed
            return .close(reply, .tooManyErrors)
        }
        return .reply(reply)
    }

    /// After a message: honour a shutdown requested during DATA (RFC 5321 §3.8: 421 after the reply).
    mutating func afterMessage(_ action: Action) -> Action {
        guard isShuttingDown, case .send(let replies, let close) = action, !close else { return action }
        state = .closed
        return .send(replies + [.shuttingDown], close: true)
    }

    mutating func fail() -> Action {
        state = .error
        return .close(.internalError)
    }

    /// `action`, with the spool file (if any) deleted first.
    func discarding(_ spool: QueueID?, _ action: Action) -> Action {
        guard let spool else { return action }
        switch action {
        case .send(let replies, let close): return .discardSpool(spool, thenSend: replies, close: close)
        case .none: return .discardSpool(spool, thenSend: [], close: false)
        default: return action  // not reached: only replies follow the end of a message
        }
    }
}

extension EmailAddress {
    /// True when the address is all ASCII (no SMTPUTF8 needed, RFC 6531 §3.2).
    var isASCII: Bool { unredactedDescription.unicodeScalars.allSatisfy(\.isASCII) }
}
