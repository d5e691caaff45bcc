/// The outbound SMTP dialogue (RFC 5321 §3.3, §4.1.1; STARTTLS RFC 3207; AUTH RFC 4954) as a pure value:
/// replies and connection events in, actions out. No I/O, no clock.
///
/// Order: greeting → EHLO (HELO if EHLO is not recognised) → STARTTLS → EHLO again → AUTH → MAIL → RCPT… →
/// DATA → body → QUIT. One command is in flight at a time (no pipelining), so a reply always belongs to the
/// command before it.
///
/// Security: every reply comes from an untrusted server. TLS is required unless the configuration says `.none`
/// for a loopback sink; if STARTTLS is required and missing or refused, the machine quits before MAIL, so no
/// address or content is sent in clear (RFC 3207 §6). Credentials are sent only after TLS. A failure after the
/// result is known (e.g. a dropped QUIT) never changes the result. An event that cannot happen in the current
/// state is a client bug: the machine moves to `.error` and every later event answers `.close` with
/// ``DeliveryFailure/Code/internalError``.
///
/// ```swift
/// var machine = SMTPClientStateMachine(parameters)
/// switch machine.receivedReply(reply) {
/// case .send(let command): write(command.wireBytes)
/// case .startTLS: addTLSHandler()          // then machine.tlsEstablished()
/// case .sendBody: write(encoded.data)
/// case .wait: break
/// case .close(let result): return result
/// }
/// ```
public struct SMTPClientStateMachine: Sendable {
    public enum Action: Hashable, Sendable {
        /// Write this command and wait for its reply.
        case send(SMTPClientCommand)
        /// The server said 220 to STARTTLS: make sure no plaintext is buffered, start the TLS handshake, then
        /// call ``tlsEstablished()``.
        case startTLS
        /// The server said 354: write the dot-stuffed message with its terminator and wait for the reply.
        case sendBody
        /// Nothing to do; wait for the next event.
        case wait
        /// The dialogue is over: close the connection and report the result.
        case close(DeliveryResult)
    }

    /// The facts of one delivery the dialogue needs.
    public struct Parameters: Sendable {
        public var heloName: String
        public var tlsMode: SMTPClientConfiguration.TLSMode
        public var credentials: SMTPCredentials?
        public var allowsAuthenticationWithoutTLS: Bool
        public var envelope: OutboundEnvelope
        public var messageSize: Int
        public var has8BitContent: Bool

        public init(
            configuration: SMTPClientConfiguration, envelope: OutboundEnvelope, messageSize: Int,
            has8BitContent: Bool
        ) {
            self.heloName = configuration.heloName
            self.tlsMode = configuration.tlsMode
            self.credentials = configuration.credentials
            self.allowsAuthenticationWithoutTLS = configuration.allowsAuthenticationWithoutTLS
            self.envelope = envelope
            self.messageSize = messageSize
            self.has8BitContent = has8BitContent
        }
    }

    public enum AuthStep: Hashable, Sendable {
        case plain, loginUsername, loginPassword, loginDone
    }

    public enum State: Hashable, Sendable {
        case awaitingGreeting
        case awaitingEHLO
        case awaitingHELO
        case awaitingStartTLS
        case tlsHandshake
        case awaitingAuth(AuthStep)
        case awaitingMail
        /// Index of the recipient whose RCPT reply is awaited.
        case awaitingRcpt(Int)
        case awaitingData
        case awaitingEndOfData
        /// QUIT sent; the result is already known.
        case quitting(DeliveryResult)
        case finished(DeliveryResult)
        case error
    }

    public let parameters: Parameters
    public private(set) var state: State = .awaitingGreeting
    public private(set) var isTLS: Bool
    public private(set) var extensions = ServerExtensions()

    public init(_ parameters: Parameters) {
        self.parameters = parameters
        self.isTLS = parameters.tlsMode == .implicit  // the transport completes the handshake before the greeting
    }

    /// True once the server accepted the message (250 to end of data) and only the QUIT exchange is left: the
    /// moment to record the delivery, before anything else can go wrong.
    public var hasDelivered: Bool {
        switch state {
        case .quitting(.delivered), .finished(.delivered): true
        default: false
        }
    }

    /// The step whose reply is awaited, for failure reports.
    public var step: SMTPClientStep {
        switch state {
        case .awaitingGreeting: .greeting
        case .awaitingEHLO: .ehlo
        case .awaitingHELO: .helo
        case .awaitingStartTLS: .startTLS
        case .tlsHandshake: .tlsHandshake
        case .awaitingAuth: .auth
        case .awaitingMail: .mailFrom
        case .awaitingRcpt: .rcptTo
        case .awaitingData: .data
        case .awaitingEndOfData: .endOfData
        case .quitting, .finished, .error: .quit
        }
    }

    // MARK: - Events

    /// A complete reply from the server.
    public mutating func receivedReply(_ reply: SMTPReply) -> Action {
        let step = self.step
        // RFC 5321 §3.8: 421 may come at any time; the server closes, so there is no QUIT.
        if reply.code == .serviceNotAvailable, !isDone {
            return finish(resultAfterFailure(.rejected(reply, at: step)), quit: false)
        }
        switch state {
        case .awaitingGreeting:
            guard reply.code == .serviceReady else { return fail(.rejected(reply, at: step)) }  // RFC 5321 §4.3.1
            return send(.ehlo(parameters.heloName), next: .awaitingEHLO)

        case .awaitingEHLO:
            if reply.code == .ok {
                extensions = ServerExtensions(ehloReply: reply)
                return afterHello()
            }
            // RFC 5321 §3.2, §4.1.4: fall back to HELO if EHLO is not recognised (500/502), not after TLS.
            if (reply.code == .syntaxError || reply.code == .commandNotImplemented) && !isTLS {
                return send(.helo(parameters.heloName), next: .awaitingHELO)
            }
            return fail(.rejected(reply, at: step))

        case .awaitingHELO:
            guard reply.code == .ok else { return fail(.rejected(reply, at: step)) }
            extensions = ServerExtensions()
            return afterHello()

        case .awaitingStartTLS:
            // RFC 3207 §4: 220 means go ahead; anything else means no TLS, and TLS is required here.
            guard reply.code == .serviceReady else {
                return fail(DeliveryFailure(.tlsRequiredButUnavailable, step: step, reply: reply.code,
                    enhanced: reply.enhanced))
            }
            state = .tlsHandshake
            return .startTLS

        case .awaitingAuth(let authStep):
            return authReply(reply, authStep)

        case .awaitingMail:
            guard reply.code == .ok else { return fail(.rejected(reply, at: step)) }
            return send(.rcptTo(parameters.envelope.recipients[0]), next: .awaitingRcpt(0))

        case .awaitingRcpt(let index):
            // 250 or 251 (RFC 5321 §4.1.1.3). Any refusal aborts before DATA: all-or-nothing, nobody gets a copy.
            guard reply.code == .ok || reply.code.rawValue == 251 else { return fail(.rejected(reply, at: step)) }
            let next = index + 1
            if next < parameters.envelope.recipients.count {
                return send(.rcptTo(parameters.envelope.recipients[next]), next: .awaitingRcpt(next))
            }
            return send(.data, next: .awaitingData)

        case .awaitingData:
            guard reply.code == .startMailInput else { return fail(.rejected(reply, at: step)) }
            state = .awaitingEndOfData
            return .sendBody

        case .awaitingEndOfData:
            guard reply.code == .ok else { return fail(.rejected(reply, at: step)) }
            return finish(.delivered(reply.code, reply.enhanced), quit: true)

        case .quitting(let result):
            state = .finished(result)  // any reply to QUIT ends it (RFC 5321 §4.1.1.10)
            return .close(result)

        case .tlsHandshake:
            // Cleartext that slipped past the STARTTLS check, or a server speaking mid-handshake (RFC 3207 §5).
            return finish(.temporaryFailure(DeliveryFailure(.malformedReply, step: .tlsHandshake)), quit: false)

        case .finished, .error:
            return internalError()
        }
    }

    /// The TLS handshake completed (after `.startTLS`, or before the greeting for implicit TLS).
    public mutating func tlsEstablished() -> Action {
        switch state {
        case .awaitingGreeting where parameters.tlsMode == .implicit:
            return .wait
        case .tlsHandshake:
            isTLS = true
            // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
            extensions = ServerExtensions()
            return send(.ehlo(parameters.heloName), next: .awaitingEHLO)
        default:
            return internalError()
        }
    }

    /// The connection failed, closed, timed out, or a reply was malformed. The result depends on what was
    /// already known: after a 250 to end of data the message counts as delivered.
    public mutating func failed(_ code: DeliveryFailure.Code) -> Action {
        switch state {
        case .quitting(let result), .finished(let result):
            state = .finished(result)
            return .close(result)
        case .error:
            return internalError()
        default:
            return finish(resultAfterFailure(DeliveryFailure(code, step: step)), quit: false)
        }
    }

    // MARK: - Steps

    private var isDone: Bool {
        switch state {
        case .quitting, .finished, .error: true
        default: false
        }
    }

    private mutating func afterHello() -> Action {
        if parameters.tlsMode == .startTLS && !isTLS {
            // RFC 3207 §4: only offered in the EHLO reply. Required here, so refuse to continue without it.
            guard extensions.startTLS else {
                return fail(DeliveryFailure(.tlsRequiredButUnavailable, step: .startTLS))
            }
            return send(.startTLS, next: .awaitingStartTLS)
        }
        if let credentials = parameters.credentials {
            guard isTLS || parameters.allowsAuthenticationWithoutTLS else {
                return fail(DeliveryFailure(.authenticationUnavailable, step: .auth))
            }
            // RFC 4954 §4; PLAIN (RFC 4616) preferred, LOGIN as the common legacy fallback.
            if extensions.authMechanisms.contains("PLAIN") {
                return send(.authPlain(credentials), next: .awaitingAuth(.plain))
            }
            if extensions.authMechanisms.contains("LOGIN") {
                return send(.authLogin, next: .awaitingAuth(.loginUsername))
            }
            return fail(DeliveryFailure(.authenticationUnavailable, step: .auth))
        }
        return mailFrom()
    }

    private mutating func authReply(_ reply: SMTPReply, _ authStep: AuthStep) -> Action {
        switch (authStep, reply.code.rawValue) {
        case (.plain, 235), (.loginDone, 235):  // RFC 4954 §6: 235 authentication succeeded
            return mailFrom()
        case (.loginUsername, 334):
            return send(.loginUsername(parameters.credentials!), next: .awaitingAuth(.loginPassword))
        case (.loginPassword, 334):
            return send(.loginPassword(parameters.credentials!), next: .awaitingAuth(.loginDone))
        case (_, 400...):
            return fail(.rejected(reply, at: .auth))  // 535 permanent, 454 temporary (RFC 4954 §6)
        default:
            return fail(DeliveryFailure(.malformedReply, step: .auth, reply: reply.code))
        }
    }

    private mutating func mailFrom() -> Action {
        let envelope = parameters.envelope
        let utf8 = envelope.needsSMTPUTF8
        if utf8 && !extensions.smtpUTF8 {
            return fail(DeliveryFailure(.smtpUTF8Unsupported, step: .mailFrom))  // RFC 6531 §3.2
        }
        if parameters.has8BitContent && !extensions.eightBitMIME && !utf8 {
            return fail(DeliveryFailure(.eightBitUnsupported, step: .mailFrom))  // RFC 6152 §3
        }
        if let limit = extensions.sizeLimit, limit > 0, parameters.messageSize > limit {
            return fail(DeliveryFailure(.messageTooLarge, step: .mailFrom))  // RFC 1870 §6.1
        }
        return send(
            .mailFrom(
                envelope.reversePath, size: extensions.sizeLimit == nil ? nil : parameters.messageSize,
                eightBitMIME: parameters.has8BitContent && extensions.eightBitMIME, smtpUTF8: utf8),
            next: .awaitingMail)
    }

    private mutating func send(_ command: SMTPClientCommand, next: State) -> Action {
        state = next
        return .send(command)
    }

    /// Ends the dialogue politely with QUIT (RFC 5321 §4.1.1.10), keeping the result.
    private mutating func fail(_ failure: DeliveryFailure) -> Action {
        finish(DeliveryResult(failure: failure), quit: true)
    }

    private mutating func finish(_ result: DeliveryResult, quit: Bool) -> Action {
        if quit {
            state = .quitting(result)
            return .send(.quit)
        }
        state = .finished(result)
        return .close(result)
    }

    /// After end of data without a reply the message may or may not have arrived: it is retried (at-least-once).
    private func resultAfterFailure(_ failure: DeliveryFailure) -> DeliveryResult {
        DeliveryResult(failure: failure)
    }

    private mutating func internalError() -> Action {
        state = .error
        return .close(.temporaryFailure(DeliveryFailure(.internalError)))
    }
}
