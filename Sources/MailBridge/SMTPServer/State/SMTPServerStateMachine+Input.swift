import NIOCore

/// The input side of ``SMTPServerStateMachine``: frames (command lines or message data, told apart by the state),
/// the results of the session's I/O, and the clock-driven checks. `now` comes from the session, so the machine
/// stays pure and its timing can be tested without waiting.
extension SMTPServerStateMachine {
    /// One frame from the framer: a command line, a message data line, or a fragment of an overlong line.
    public mutating func receivedFrame(_ frame: SMTPFrame, at now: ContinuousClock.Instant) -> Action {
        switch state {
        case .receivingData(let session, let envelope, var phase):
            lastProgress = now
            switch phase.reader.consume(frame.bytes, endsLine: frame.endsLine) {
            case .content(let bytes):
                state = .receivingData(session, envelope, phase)
                if phase.isTooSlow(at: now, configuration) { return timedOut() }
                guard bytes.readableBytes > 0, let spool = phase.spool else { return .none }
                return .appendToSpool(spool, bytes)
            case .endOfData:
                return dataFinished(session, envelope, phase)
            }
        case .discardingOverlongLine(let inner):
            if frame.endsLine { state = inner }
            return .none
        case .startingTLS:
            return receivedPlaintextAfterStartTLS()
        case .awaitingHello, .ready, .mailTransaction:
            return receivedCommandLine(frame, at: now)
        case .openingSpool, .storingMessage, .checkingPipelining, .closed, .error:
            return fail()
        }
    }

    /// The spool file for the message was created (`spool` is its queue ID), or could not be (nil: the message is
    /// read to its end and answered 451). Answers the 354.
    public mutating func spoolOpened(_ spool: QueueID?, at now: ContinuousClock.Instant) -> Action {
        guard case .openingSpool(let session, let envelope) = state else { return fail() }
        let reader = DataReader(
            maximumMessageSize: configuration.maximumMessageSize,
            maximumLineLength: configuration.maximumTextLineLength,
            maximumHeaderSize: configuration.maximumHeaderSize
        )
        state = .receivingData(session, envelope, SMTPDataPhase(reader: reader, spool: spool, startedAt: now))
        return .reply(SMTPReply(.startMailInput, nil, "end data with <CR><LF>.<CR><LF>"))
    }

    /// Appending to the spool file failed: discard it and go on reading; the end of data answers 451.
    public mutating func spoolWriteFailed() -> Action {
        guard case .receivingData(let session, let envelope, var phase) = state, let spool = phase.spool else {
            return fail()
        }
        phase.spool = nil
        state = .receivingData(session, envelope, phase)
        return .discardSpool(spool, thenSend: [], close: false)
    }

    /// The answer to ``Action/checkPipelinedInput``: text sent before the 354 is refused (Postfix's
    /// reject_unauth_pipelining), whether or not DATA itself would be accepted.
    public mutating func pipeliningChecked(inputPending: Bool) -> Action {
        guard case .checkingPipelining(let inner) = state else { return fail() }
        state = inner
        return inputPending ? receivedPipelinedData() : receivedCommand(.data)
    }

    /// The session wrote to the client.
    public mutating func repliesWritten(at now: ContinuousClock.Instant) {
        lastWrite = now
    }

    /// The connection's idle timer fired. It re-arms after firing, so a timeout that fired while the session was
    /// busy (storing, say) is stale and ignored.
    public mutating func idleTimeoutFired(at now: ContinuousClock.Instant) -> Action {
        guard now - lastWrite >= configuration.commandTimeout else { return .none }
        return timedOut()
    }

    /// Stress mode (Postfix's, issue 18): near the connection limit a client that moved no mail for the stress
    /// timeout is closed, whatever NOOPs it sends; without stress, NOOPs never stretch a session past the command
    /// timeout either. Only between commands: never while message data is read or stored.
    public mutating func progressCheck(at now: ContinuousClock.Instant, underStress: Bool) -> Action {
        switch state {
        case .awaitingHello, .ready, .mailTransaction, .discardingOverlongLine: break
        default: return .none
        }
        let idle = now - max(lastProgress, lastWrite - configuration.commandTimeout)
        if idle >= configuration.commandTimeout { return timedOut() }
        if now - lastProgress >= configuration.stressCommandTimeout, underStress { return closedIdleUnderStress() }
        return .none
    }

    /// A complete or overlong command line, in a state that reads commands.
    private mutating func receivedCommandLine(_ frame: SMTPFrame, at now: ContinuousClock.Instant) -> Action {
        guard frame.endsLine else {
            let action = receivedInvalidCommand(SMTPReply(.syntaxError, .syntaxError, "line too long"))
            switch state {
            case .awaitingHello, .ready, .mailTransaction: state = .discardingOverlongLine(state)
            default: break  // closed by a limit
            }
            return action
        }
        do throws(SMTPReply) {
            let command = try parser.parse(frame.bytes)
            if !command.isJunk { lastProgress = now }
            // RFC 2920 §3.1: DATA ends a pipelined group; the session checks for input sent after it.
            if command == .data, configuration.rejectPipelinedData {
                state = .checkingPipelining(state)
                return .checkPipelinedInput
            }
            return receivedCommand(command)
        } catch {
            return receivedInvalidCommand(error)
        }
    }
}
