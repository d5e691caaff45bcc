import MailBridge
import MailValues
import NIOCore
import Testing

/// The state machine alone, without any channel (STYLE.md §1, §14a).
struct SMTPServerStateMachineTests {
    static let counselling = try! EmailAddress("beratung@example.org")
    static let policy = RecipientPolicy(accepting: [counselling, try! EmailAddress("team@example.org")])

    static func machine(
        _ configuration: SMTPServerConfiguration = .init(hostname: "mx.test"),
        tls: Bool = false
    ) -> SMTPServerStateMachine {
        SMTPServerStateMachine(configuration: configuration, policy: policy, tlsAvailable: tls)
    }

    static func replyCodes(_ action: SMTPServerStateMachine.Action) -> [Int] {
        switch action {
        case .send(let replies, _), .discardSpool(_, let replies, _): replies.map(\.code.rawValue)
        case .startTLS(let reply): [reply.code.rawValue]
        case .openSpool, .appendToSpool, .checkPipelinedInput, .storeMessage, .none: []
        }
    }

    static func isClose(_ action: SMTPServerStateMachine.Action) -> Bool {
        switch action {
        case .send(_, close: true), .discardSpool(_, _, close: true): true
        default: false
        }
    }

    static let spool = QueueID("0123456789abcdef0123")!

    static func frame(_ text: String, endsLine: Bool = true) -> SMTPFrame {
        SMTPFrame(bytes: ByteBuffer(string: text), endsLine: endsLine)
    }

    /// DATA, the spool file opened, and the 354 checked.
    static func startData(
        _ machine: inout SMTPServerStateMachine,
        at now: ContinuousClock.Instant = .now
    ) {
        #expect(machine.receivedCommand(.data) == .openSpool)
        #expect(replyCodes(machine.spoolOpened(spool, at: now)) == [354])
    }

    /// Feeds data lines (each ending in CRLF unless it ends in LF already) and returns the last action.
    @discardableResult
    static func data(
        _ machine: inout SMTPServerStateMachine,
        _ lines: [String],
        at now: ContinuousClock.Instant = .now
    ) -> SMTPServerStateMachine.Action {
        var last = SMTPServerStateMachine.Action.none
        for line in lines { last = machine.receivedFrame(frame(line), at: now) }
        return last
    }

    /// Greets and opens a transaction with one accepted recipient.
    static func inTransaction(_ machine: inout SMTPServerStateMachine) throws {
        _ = machine.receivedCommand(.ehlo("client.test"))
        _ = machine.receivedCommand(.mailFrom(.mailbox(try EmailAddress("client@example.net")), parameters: .init()))
        #expect(replyCodes(machine.receivedCommand(.rcptTo(counselling))) == [250])
    }

    @Test func fullTransaction() throws {
        var machine = Self.machine()
        #expect(machine.greeting.code == .serviceReady)
        try Self.inTransaction(&machine)
        #expect(machine.receivedCommand(.data) == .openSpool)
        guard case .send(let start, close: false) = machine.spoolOpened(Self.spool, at: .now) else {
            Issue.record("no 354")
            return
        }
        #expect(start.map(\.code) == [.startMailInput])
        #expect(
            Self.data(&machine, ["Subject: x\r\n"]) == .appendToSpool(Self.spool, ByteBuffer(string: "Subject: x\r\n"))
        )
        #expect(machine.isInMessage)
        guard case .storeMessage(let envelope, spool: Self.spool) = Self.data(&machine, [".\r\n"]) else {
            Issue.record("no store action")
            return
        }
        #expect(envelope.recipients == [Self.counselling])
        #expect(envelope.reversePath.address?.unredactedDescription == "client@example.net")
        guard case .send(let replies, close: false) = machine.messageStored(queueID: "Q1") else {
            Issue.record("no 250")
            return
        }
        #expect(replies.map(\.code) == [.ok])
        #expect(replies[0].text.contains("Q1"))
        guard case .ready = machine.state else {
            Issue.record("not ready after message")
            return
        }
        #expect(Self.isClose(machine.receivedCommand(.quit)))
    }

    @Test func ehloAnnouncesExtensions() {
        var plain = Self.machine(SMTPServerConfiguration(hostname: "mx.test", maximumMessageSize: 4096))
        guard case .send(let replies, _) = plain.receivedCommand(.ehlo("c")) else {
            Issue.record()
            return
        }
        let lines = replies[0].precedingLines + [replies[0].text]
        #expect(lines == ["mx.test", "SIZE 4096", "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES", "SMTPUTF8"])
        var tls = Self.machine(tls: true)
        guard case .send(let tlsReplies, _) = tls.receivedCommand(.ehlo("c")) else {
            Issue.record()
            return
        }
        #expect(tlsReplies[0].text == "STARTTLS")
    }

    @Test func commandsOutOfSequenceGet503() throws {
        var machine = Self.machine()
        #expect(Self.replyCodes(machine.receivedCommand(.mailFrom(.null, parameters: .init()))) == [503])
        #expect(Self.replyCodes(machine.receivedCommand(.rcptTo(Self.counselling))) == [503])
        #expect(Self.replyCodes(machine.receivedCommand(.data)) == [503])
        _ = machine.receivedCommand(.ehlo("c"))
        #expect(Self.replyCodes(machine.receivedCommand(.mailFrom(.null, parameters: .init()))) == [250])
        #expect(Self.replyCodes(machine.receivedCommand(.mailFrom(.null, parameters: .init()))) == [503])
        #expect(Self.replyCodes(machine.receivedCommand(.data)) == [503], "DATA without RCPT")
        #expect(Self.replyCodes(machine.receivedCommand(.rset)) == [250])
        #expect(
            Self.replyCodes(machine.receivedCommand(.rcptTo(Self.counselling))) == [503],
            "RSET ended the transaction"
        )
    }

    @Test func unknownRecipientsGet550AndNeverRelay() throws {
        var machine = Self.machine()
        _ = machine.receivedCommand(.ehlo("c"))
        _ = machine.receivedCommand(.mailFrom(.null, parameters: .init()))
        let relay = machine.receivedCommand(.rcptTo(try EmailAddress("someone@elsewhere.example")))
        guard case .send(let replies, _) = relay else {
            Issue.record()
            return
        }
        #expect(replies[0].code == .mailboxUnavailable && replies[0].enhanced == .badDestinationMailbox)
        #expect(Self.replyCodes(machine.receivedCommand(.rcptTo(try EmailAddress("BERATUNG@Example.ORG")))) == [250])
        #expect(machine.receivedCommand(.data) == .openSpool)
    }

    @Test func tooManyRecipientsGet452() throws {
        let many = (0..<5).map { try! EmailAddress("r\($0)@example.org") }
        var machine = SMTPServerStateMachine(
            configuration: .init(maximumRecipients: 3),
            policy: RecipientPolicy(accepting: many),
            tlsAvailable: false
        )
        _ = machine.receivedCommand(.ehlo("c"))
        _ = machine.receivedCommand(.mailFrom(.null, parameters: .init()))
        let codes = many.map { Self.replyCodes(machine.receivedCommand(.rcptTo($0))) }
        #expect(codes == [[250], [250], [250], [452], [452]])
        guard case .send(let replies, _) = machine.receivedCommand(.rcptTo(many[4])) else {
            Issue.record()
            return
        }
        #expect(replies[0].enhanced == .tooManyRecipients)
        #expect(machine.errorCount == 0, "452 is not a client error")
    }

    @Test func sizeParameterOverLimitGet552() throws {
        var machine = Self.machine(SMTPServerConfiguration(maximumMessageSize: 1000))
        _ = machine.receivedCommand(.ehlo("c"))
        let big = machine.receivedCommand(.mailFrom(.null, parameters: MailParameters(size: 1001)))
        guard case .send(let replies, _) = big else {
            Issue.record()
            return
        }
        #expect(replies[0].code == .exceededStorage && replies[0].enhanced == .messageTooBig)
        #expect(
            Self.replyCodes(machine.receivedCommand(.mailFrom(.null, parameters: MailParameters(size: 1000)))) == [250]
        )
    }

    @Test func utf8AddressesNeedSMTPUTF8() throws {
        var machine = Self.machine()
        _ = machine.receivedCommand(.ehlo("c"))
        let utf8 = ReversePath.mailbox(try EmailAddress("jürgen@example.org"))
        #expect(Self.replyCodes(machine.receivedCommand(.mailFrom(utf8, parameters: .init()))) == [553])
        #expect(Self.replyCodes(machine.receivedCommand(.mailFrom(utf8, parameters: .init(smtpUTF8: true)))) == [250])
    }

    @Test func heloSessionRefusesExtensionParameters() {
        var machine = Self.machine()
        _ = machine.receivedCommand(.helo("c"))
        #expect(Self.replyCodes(machine.receivedCommand(.mailFrom(.null, parameters: .init(size: 10)))) == [555])
    }

    @Test func rejectedDataReturnsToReadyWithoutStoring() throws {
        var machine = Self.machine()
        try Self.inTransaction(&machine)
        Self.startData(&machine)
        #expect(Self.data(&machine, ["bare\n", "LF\r\n"]) == .none, "nothing more is stored after a rejection")
        let end = Self.data(&machine, [".\r\n"])
        #expect(Self.replyCodes(end) == [554])
        guard case .discardSpool(Self.spool, _, close: false) = end else {
            Issue.record("spool file not discarded")
            return
        }
        guard case .ready = machine.state else {
            Issue.record("not ready")
            return
        }
        #expect(Self.replyCodes(machine.receivedCommand(.data)) == [503], "transaction was cleared")
    }

    @Test func storeFailureAnswers451() throws {
        var machine = Self.machine()
        try Self.inTransaction(&machine)
        Self.startData(&machine)
        _ = Self.data(&machine, [".\r\n"])
        guard case .discardSpool(Self.spool, let replies, close: false) = machine.messageStoreFailed() else {
            Issue.record()
            return
        }
        #expect(replies == [.storageFailed])
        #expect(replies[0].enhanced == .temporarySystemError)
    }

    @Test func tooManyErrorsCloses() {
        var machine = Self.machine(SMTPServerConfiguration(maximumErrors: 3))
        let bad = SMTPReply(.syntaxError, .syntaxError, "x")
        #expect(!Self.isClose(machine.receivedInvalidCommand(bad)))
        #expect(!Self.isClose(machine.receivedInvalidCommand(bad)))
        let last = machine.receivedInvalidCommand(bad)
        #expect(Self.isClose(last))
        #expect(Self.replyCodes(last) == [500, 421])
    }

    @Test func tooManyCommandsCloses() {
        var machine = Self.machine(SMTPServerConfiguration(maximumCommands: 2))
        #expect(!Self.isClose(machine.receivedCommand(.noop)))
        #expect(!Self.isClose(machine.receivedCommand(.noop)))
        let third = machine.receivedCommand(.noop)
        #expect(Self.isClose(third) && Self.replyCodes(third) == [421])
    }

    @Test func startTLSResetsSessionAndRequiresNewEHLO() throws {
        var machine = Self.machine(tls: true)
        try Self.inTransaction(&machine)
        #expect(Self.replyCodes(machine.receivedCommand(.startTLS)) == [503], "not inside a transaction")
        _ = machine.receivedCommand(.rset)
        guard case .startTLS(let reply) = machine.receivedCommand(.startTLS) else {
            Issue.record()
            return
        }
        #expect(reply.code == .serviceReady)
        #expect(machine.tlsEstablished() == .none)
        #expect(machine.state == .awaitingHello(isTLS: true))
        #expect(Self.replyCodes(machine.receivedCommand(.mailFrom(.null, parameters: .init()))) == [503])
        guard case .send(let replies, _) = machine.receivedCommand(.ehlo("c")) else {
            Issue.record()
            return
        }
        #expect(!(replies[0].precedingLines + [replies[0].text]).contains("STARTTLS"))
        #expect(Self.replyCodes(machine.receivedCommand(.startTLS)) == [503], "TLS already active")
    }

    @Test func startTLSWithoutConfigurationIs502() {
        var machine = Self.machine(tls: false)
        #expect(Self.replyCodes(machine.receivedCommand(.startTLS)) == [502])
    }

    @Test func plaintextAfterStartTLSCloses() {
        var machine = Self.machine(tls: true)
        _ = machine.receivedCommand(.startTLS)
        let action = machine.receivedPlaintextAfterStartTLS()
        #expect(Self.isClose(action) && Self.replyCodes(action) == [554])
    }

    @Test func shutdownWhileIdleAnswers421() {
        var machine = Self.machine()
        _ = machine.receivedCommand(.ehlo("c"))
        let action = machine.shutdownRequested()
        #expect(Self.isClose(action))
        guard case .send(let replies, _) = action else { return }
        #expect(replies == [.shuttingDown] && replies[0].enhanced == .systemNotAccepting)
    }

    @Test func shutdownDuringDataFinishesTheMessageFirst() throws {
        var machine = Self.machine()
        try Self.inTransaction(&machine)
        Self.startData(&machine)
        #expect(machine.shutdownRequested() == .none)
        guard case .storeMessage = Self.data(&machine, ["x\r\n", ".\r\n"]) else {
            Issue.record()
            return
        }
        let action = machine.messageStored(queueID: "Q")
        #expect(Self.isClose(action))
        #expect(Self.replyCodes(action) == [250, 421])
    }

    @Test func timeoutAnswers421() {
        var machine = Self.machine()
        let action = machine.timedOut()
        #expect(Self.isClose(action))
        guard case .send(let replies, _) = action else { return }
        #expect(replies[0].enhanced == .badConnection)
    }

    /// Impossible events move to `.error`, and every later event fails (NIOSOCKS `testErrorsAreHandled`).
    @Test func errorsAreHandled() {
        var machine = Self.machine()
        #expect(machine.spoolOpened(Self.spool, at: .now) == .send([.internalError], close: true))
        #expect(machine.state == .error)
        #expect(machine.receivedCommand(.noop) == .send([.internalError], close: true))
        #expect(machine.receivedCommand(.ehlo("c")) == .send([.internalError], close: true))
        #expect(machine.messageStored(queueID: "x") == .send([.internalError], close: true))
        #expect(machine.tlsEstablished() == .send([.internalError], close: true))
        #expect(machine.timedOut() == .send([.internalError], close: true))
        #expect(machine.shutdownRequested() == .send([.internalError], close: true))
        #expect(machine.state == .error)
    }

    @Test func commandsDuringDataAreSessionBugs() throws {
        var machine = Self.machine()
        try Self.inTransaction(&machine)
        Self.startData(&machine)
        #expect(machine.receivedCommand(.rset) == .send([.internalError], close: true))
        #expect(machine.state == .error)
    }
}
