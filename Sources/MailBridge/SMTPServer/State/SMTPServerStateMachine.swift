/// The inbound SMTP protocol state (RFC 5321 §3, §4.1.4) as a pure value: events in, actions out. No I/O.
///
/// Security: drives everything an untrusted client can ask for. Only configured counselling addresses are
/// accepted as recipients (no relay), there is no AUTH, and every limit of ``SMTPServerConfiguration`` that
/// concerns commands is enforced here. Client mistakes are ordinary replies (counted towards `maximumErrors`);
/// events that are impossible in the current state are session bugs: they move the machine to `.error`, where
/// every later event answers ``SMTPReply/internalError`` and closes.
///
/// ```swift
/// var machine = SMTPServerStateMachine(configuration: .init(), policy: policy, tlsAvailable: false)
/// switch machine.receivedCommand(.ehlo("client.example")) {
/// case .send(let replies, let close): ...
/// case .startData(let reply): ...
/// case .startTLS(let reply): ...
/// case .storeMessage(let envelope): ...
/// case .none: break
/// }
/// ```
public struct SMTPServerStateMachine: Sendable {
    /// What the session must do next.
    public enum Action: Equatable, Sendable {
        /// Write the replies in order; then close the connection if `close`.
        case send([SMTPReply], close: Bool)
        /// Write the 354 reply, then read message data until end of data and call ``dataFinished(rejection:)``.
        case startData(SMTPReply)
        /// Write the 220 reply, start the TLS handshake, then call ``tlsEstablished()``.
        case startTLS(SMTPReply)
        /// Store the spooled message durably, then call ``messageStored(queueID:)`` or ``messageStoreFailed()``.
        case storeMessage(SMTPEnvelope)
        /// Nothing to write now.
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
        /// After 354, reading data.
        case receivingData(Session, SMTPEnvelope)
        /// End of data read; waiting for the durable intake.
        case storingMessage(Session, SMTPEnvelope)
        /// 220 to STARTTLS sent; waiting for the handshake.
        case startingTLS
        /// QUIT answered or the connection is being closed.
        case closed
        /// A session bug was detected; every event fails.
        case error
    }

    public let configuration: SMTPServerConfiguration
    public let policy: RecipientPolicy
    public let tlsAvailable: Bool
    public private(set) var state: State = .awaitingHello(isTLS: false)
    public private(set) var errorCount = 0
    public private(set) var commandCount = 0
    /// Non-mail commands so far (NOOP, RSET, HELP, VRFY).
    public private(set) var junkCount = 0
    /// Set by the session from the listener's load before each command (stress mode).
    public var underStress = false
    public private(set) var isShuttingDown = false

    public init(configuration: SMTPServerConfiguration, policy: RecipientPolicy, tlsAvailable: Bool) {
        self.configuration = configuration
        self.policy = policy
        self.tlsAvailable = tlsAvailable
    }

    /// The 220 greeting (RFC 5321 §4.3.1). No enhanced code on the greeting (RFC 2034 §3).
    public var greeting: SMTPReply {
        SMTPReply(.serviceReady, nil, "\(configuration.hostname) ESMTP MailBridge")
    }

    /// True while message data is being read or stored: shutdown waits for it (STYLE.md §12).
    public var isInMessage: Bool {
        switch state {
        case .receivingData, .storingMessage: true
        default: false
        }
    }

    // MARK: - Events

    /// A syntactically valid command.
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

    /// The end of data was read. `rejection` is the reader's verdict; the reply never depends on content beyond
    /// these syntax and size checks (decryption happens after the 250).
    public mutating func dataFinished(rejection: DataReader.Rejection?) -> Action {
        guard case .receivingData(let session, let envelope) = state else { return fail() }
        if let rejection {
            state = .ready(session)  // RFC 5321 §4.1.1.4: a failed transaction clears the buffers
            return afterMessage(clientError(rejection.reply))
        }
        state = .storingMessage(session, envelope)
        return .storeMessage(envelope)
    }

    /// The intake fsynced the message: answer 250 with the queue ID (RFC 5321 §4.1.1.4).
    public mutating func messageStored(queueID: String) -> Action {
        guard case .storingMessage(let session, _) = state else { return fail() }
        state = .ready(session)
        return afterMessage(.reply(SMTPReply(.ok, .success, "queued as \(queueID)")))
    }

    /// The intake failed: 451 4.3.0 (STYLE.md §10).
    public mutating func messageStoreFailed() -> Action {
        guard case .storingMessage(let session, _) = state else { return fail() }
        state = .ready(session)
        return afterMessage(.reply(.storageFailed))
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

    /// A command, data or session deadline passed: 421 4.4.2 and close.
    public mutating func timedOut() -> Action {
        if case .error = state { return fail() }
        state = .closed
        return .close(.timedOut)
    }

    /// Graceful shutdown: idle sessions get 421 4.3.2 now; a message in progress is finished first.
    public mutating func shutdownRequested() -> Action {
        switch state {
        case .error: return fail()
        case .closed: return .none
        case .receivingData, .storingMessage:
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
        case (_, .receivingData), (_, .storingMessage), (_, .startingTLS), (_, .closed), (_, .error):
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
            state = .receivingData(session, envelope)
            return .startData(SMTPReply(.startMailInput, nil, "end data with <CR><LF>.<CR><LF>"))
        case (.data, _):
            throw SMTPReply(.badSequence, .invalidCommand, "need MAIL and RCPT before DATA")
        }
    }

    private var isTLSActive: Bool {
        switch state {
        case .awaitingHello(let isTLS): isTLS
        case .ready(let session), .mailTransaction(let session, _), .receivingData(let session, _),
            .storingMessage(let session, _):
            session.isTLS
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

    private mutating func countCommand() -> Action? {
        if case .error = state { return fail() }
        commandCount += 1
        guard commandCount <= configuration.maximumCommands else {
            state = .closed
            return .close(.tooManyCommands)
        }
        return nil
    }

    private mutating func clientError(_ reply: SMTPReply) -> Action {
        guard reply.isClientFault else { return .reply(reply) }
        errorCount += 1
        guard errorCount < configuration.maximumErrors else {
            state = .closed
            return .close(reply, .tooManyErrors)
        }
        return .reply(reply)
    }

    /// After a message: honour a shutdown requested during DATA (RFC 5321 §3.8: 421 after the reply).
    private mutating func afterMessage(_ action: Action) -> Action {
        guard isShuttingDown, case .send(let replies, let close) = action, !close else { return action }
        state = .closed
        return .send(replies + [.shuttingDown], close: true)
    }

    private mutating func fail() -> Action {
        state = .error
        return .close(.internalError)
    }
}

extension EmailAddress {
    /// True when the address is all ASCII (no SMTPUTF8 needed, RFC 6531 §3.2).
    var isASCII: Bool { unredactedDescription.unicodeScalars.allSatisfy(\.isASCII) }
}
