import MailBridge
import NIOCore
import Testing

/// The per-phase state inside the machine (STYLE.md "State inside the machine"): the DATA phase's reader, spool
/// handle and start time, skipping an overlong line, waiting for the pipelining check or for TLS, and the timing
/// checks, all with instants passed in, so nothing here waits.
struct SMTPServerStateMachinePhaseTests {
    typealias Machine = SMTPServerStateMachine
    static let spool = SMTPServerStateMachineTests.spool
    static let start = ContinuousClock.now

    static func frame(_ text: String, endsLine: Bool = true) -> SMTPFrame {
        SMTPServerStateMachineTests.frame(text, endsLine: endsLine)
    }

    /// Greeted, one recipient, DATA answered 354 with `spool` (or no spool file) at `start`.
    static func inData(
        _ configuration: SMTPServerConfiguration = .init(hostname: "mx.test"),
        spool: QueueID? = spool
    ) throws -> Machine {
        var machine = SMTPServerStateMachine(
            configuration: configuration,
            policy: SMTPServerStateMachineTests.policy,
            tlsAvailable: false,
            now: start
        )
        try SMTPServerStateMachineTests.inTransaction(&machine)
        #expect(machine.receivedCommand(.data) == .openSpool)
        #expect(machine.isInMessage)
        #expect(SMTPServerStateMachineTests.replyCodes(machine.spoolOpened(spool, at: start)) == [354])
        return machine
    }

    @Test func dataPhaseCarriesReaderSpoolAndStartTime() throws {
        var machine = try Self.inData()
        guard case .receivingData(_, let envelope, let phase) = machine.state else {
            Issue.record("not receiving data: \(machine.state)")
            return
        }
        #expect(envelope.recipients == [SMTPServerStateMachineTests.counselling])
        #expect(phase.spool == Self.spool && phase.startedAt == Self.start && phase.reader.messageSize == 0)
        _ = machine.receivedFrame(Self.frame("..stuffed\r\n"), at: Self.start)
        guard case .receivingData(_, _, let after) = machine.state else { return }
        #expect(after.reader.messageSize == ".stuffed\r\n".utf8.count)
    }

    @Test func contentIsAppendedUnstuffedAndOnlyCRLFDotCRLFEnds() throws {
        var machine = try Self.inData()
        #expect(
            machine.receivedFrame(Self.frame("..x\r\n"), at: Self.start)
                == .appendToSpool(Self.spool, ByteBuffer(string: ".x\r\n"))
        )
        #expect(machine.receivedFrame(Self.frame(".\n"), at: Self.start) == .none, "bare LF: rejected, not an end")
        #expect(machine.receivedFrame(Self.frame("QUIT\r\n"), at: Self.start) == .none, "still message text")
        #expect(
            machine.receivedFrame(Self.frame(".\r\n"), at: Self.start)
                == .discardSpool(
                    Self.spool,
                    thenSend: [DataReader.Rejection.bareCarriageReturnOrLineFeed.reply],
                    close: false
                )
        )
        guard case .ready = machine.state else {
            Issue.record("not ready after the refused message: \(machine.state)")
            return
        }
    }

    /// Slowloris: after the grace period the average rate must be reached; the message is discarded and 421 sent.
    @Test func slowDataTimesOutAndDiscardsTheSpoolFile() throws {
        let configuration = SMTPServerConfiguration(
            hostname: "mx.test",
            minimumDataRate: 100,
            dataRateGracePeriod: .seconds(30)
        )
        var fast = try Self.inData(configuration)
        let bulk = String(repeating: "x", count: 998) + "\r\n"
        for second in 0..<40 {
            let action = fast.receivedFrame(Self.frame(bulk), at: Self.start + .seconds(second))
            #expect(action == .appendToSpool(Self.spool, ByteBuffer(string: bulk)))
        }
        var slow = try Self.inData(configuration)
        let early = slow.receivedFrame(Self.frame("a\r\n"), at: Self.start + .seconds(29))
        #expect(early == .appendToSpool(Self.spool, ByteBuffer(string: "a\r\n")), "within the grace period")
        #expect(
            slow.receivedFrame(Self.frame("b\r\n"), at: Self.start + .seconds(31))
                == .discardSpool(Self.spool, thenSend: [.timedOut], close: true)
        )
        #expect(slow.state == .closed)
    }

    @Test func timeoutDuringDataDiscardsTheSpoolFile() throws {
        var machine = try Self.inData()
        #expect(machine.timedOut() == .discardSpool(Self.spool, thenSend: [.timedOut], close: true))
    }

    /// A failed write drops the spool file at once; the message is read to its end and answered 451.
    @Test func spoolWriteFailureDiscardsAndAnswers451AtTheEnd() throws {
        var machine = try Self.inData()
        _ = machine.receivedFrame(Self.frame("a\r\n"), at: Self.start)
        #expect(machine.spoolWriteFailed() == .discardSpool(Self.spool, thenSend: [], close: false))
        #expect(machine.receivedFrame(Self.frame("b\r\n"), at: Self.start) == .none, "nothing more is appended")
        #expect(machine.receivedFrame(Self.frame(".\r\n"), at: Self.start) == .send([.storageFailed], close: false))
        #expect(machine.spoolWriteFailed() == .send([.internalError], close: true), "no data phase: a session bug")
    }

    @Test func noSpoolFileIsReadToTheEndAndAnswered451() throws {
        var machine = try Self.inData(spool: nil)
        #expect(machine.receivedFrame(Self.frame("a\r\n"), at: Self.start) == .none)
        #expect(machine.receivedFrame(Self.frame(".\r\n"), at: Self.start) == .send([.storageFailed], close: false))
    }

    @Test func overlongCommandLineIsAnsweredOnceAndSkipped() {
        var machine = SMTPServerStateMachineTests.machine()
        let fragment = Self.frame(String(repeating: "a", count: 700), endsLine: false)
        #expect(SMTPServerStateMachineTests.replyCodes(machine.receivedFrame(fragment, at: Self.start)) == [500])
        #expect(machine.state == .discardingOverlongLine(.awaitingHello(isTLS: false)))
        #expect(machine.receivedFrame(fragment, at: Self.start) == .none)
        #expect(machine.receivedFrame(Self.frame("a\r\n"), at: Self.start) == .none, "the rest of the line")
        #expect(machine.state == .awaitingHello(isTLS: false))
        let noop = machine.receivedFrame(Self.frame("NOOP\r\n"), at: Self.start)
        #expect(SMTPServerStateMachineTests.replyCodes(noop) == [250])
        #expect(machine.errorCount == 1)
    }

    @Test func anyFrameWhileStartingTLSIsInjection() {
        var machine = SMTPServerStateMachineTests.machine(tls: true)
        guard case .startTLS = machine.receivedFrame(Self.frame("STARTTLS\r\n"), at: Self.start) else {
            Issue.record()
            return
        }
        #expect(machine.state == .startingTLS)
        #expect(
            machine.receivedFrame(Self.frame("EHLO c\r\n"), at: Self.start)
                == .send([.pipelinedAfterStartTLS], close: true)
        )
    }

    /// DATA waits for the session's check; pending input closes whether or not DATA would have been accepted.
    @Test func dataWaitsForThePipeliningCheck() throws {
        var pipelined = SMTPServerStateMachineTests.machine()
        _ = pipelined.receivedFrame(Self.frame("EHLO c\r\n"), at: Self.start)
        #expect(pipelined.receivedFrame(Self.frame("DATA\r\n"), at: Self.start) == .checkPipelinedInput)
        guard case .checkingPipelining(.ready) = pipelined.state else {
            Issue.record("not waiting for the check: \(pipelined.state)")
            return
        }
        #expect(pipelined.pipeliningChecked(inputPending: true) == .send([.improperPipelining], close: true))

        var early = SMTPServerStateMachineTests.machine()
        _ = early.receivedFrame(Self.frame("EHLO c\r\n"), at: Self.start)
        _ = early.receivedFrame(Self.frame("DATA\r\n"), at: Self.start)
        #expect(SMTPServerStateMachineTests.replyCodes(early.pipeliningChecked(inputPending: false)) == [503])

        var machine = SMTPServerStateMachineTests.machine()
        try SMTPServerStateMachineTests.inTransaction(&machine)
        #expect(machine.receivedFrame(Self.frame("DATA\r\n"), at: Self.start) == .checkPipelinedInput)
        #expect(machine.pipeliningChecked(inputPending: false) == .openSpool)
        #expect(machine.pipeliningChecked(inputPending: false) == .send([.internalError], close: true))
    }

    /// The idle timer re-arms after firing; a timeout within the command timeout of the last write is stale.
    @Test func staleIdleTimeoutIsIgnored() {
        var machine = SMTPServerStateMachine(
            configuration: SMTPServerConfiguration(hostname: "mx.test", commandTimeout: .seconds(300)),
            policy: SMTPServerStateMachineTests.policy,
            tlsAvailable: false,
            now: Self.start
        )
        machine.repliesWritten(at: Self.start + .seconds(200))
        #expect(machine.idleTimeoutFired(at: Self.start + .seconds(300)) == .none)
        #expect(machine.idleTimeoutFired(at: Self.start + .seconds(500)) == .send([.timedOut], close: true))
    }

    /// Stress mode: only mail commands are progress; NOOPs do not keep an idle session under load.
    @Test func progressCheckClosesIdleSessionsOnlyUnderStress() {
        var machine = SMTPServerStateMachine(
            configuration: SMTPServerConfiguration(hostname: "mx.test"),
            policy: SMTPServerStateMachineTests.policy,
            tlsAvailable: false,
            now: Self.start
        )
        _ = machine.receivedFrame(Self.frame("EHLO c\r\n"), at: Self.start + .seconds(5))
        _ = machine.receivedFrame(Self.frame("NOOP\r\n"), at: Self.start + .seconds(12))
        machine.repliesWritten(at: Self.start + .seconds(12))
        #expect(machine.progressCheck(at: Self.start + .seconds(14), underStress: true) == .none, "EHLO 9 s ago")
        #expect(machine.progressCheck(at: Self.start + .seconds(16), underStress: false) == .none)
        #expect(
            machine.progressCheck(at: Self.start + .seconds(16), underStress: true)
                == .send([.idleUnderLoad], close: true)
        )
    }

    /// Without stress, NOOPs never stretch a session past the command timeout.
    @Test func noopsDoNotExtendTheCommandTimeout() {
        var machine = SMTPServerStateMachine(
            configuration: SMTPServerConfiguration(hostname: "mx.test", commandTimeout: .seconds(60)),
            policy: SMTPServerStateMachineTests.policy,
            tlsAvailable: false,
            now: Self.start
        )
        for second in stride(from: 10, through: 50, by: 10) {
            _ = machine.receivedFrame(Self.frame("NOOP\r\n"), at: Self.start + .seconds(second))
            machine.repliesWritten(at: Self.start + .seconds(second))
        }
        #expect(machine.progressCheck(at: Self.start + .seconds(59), underStress: false) == .none)
        #expect(
            machine.progressCheck(at: Self.start + .seconds(61), underStress: false) == .send([.timedOut], close: true)
        )
    }
}
