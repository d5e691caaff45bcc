/// What one DATA phase carries inside ``SMTPServerStateMachine/State/receivingData(_:_:_:)``: the reader that finds
/// the end of data and enforces the limits, the spool file the content goes to, and when the phase began (for the
/// minimum data rate).
///
/// The spool file is named by its queue ID, an opaque handle here: the session owns the open file (it is I/O and
/// not `Sendable`) and only does what the machine's actions say with it (append, discard, finish and hand over).
public struct SMTPDataPhase: Hashable, Sendable {
    public var reader: DataReader
    /// The spool file, or nil when it could not be created or a write failed: the message is still read to its
    /// end (so the session stays in step with the client) and then answered 451 4.3.0.
    public var spool: QueueID?
    public var startedAt: ContinuousClock.Instant

    public init(reader: DataReader, spool: QueueID?, startedAt: ContinuousClock.Instant) {
        self.reader = reader
        self.spool = spool
        self.startedAt = startedAt
    }

    /// Slowloris guard: after the grace period the average rate must reach `minimumDataRate` octets per second.
    func isTooSlow(at now: ContinuousClock.Instant, _ configuration: SMTPServerConfiguration) -> Bool {
        let elapsed = now - startedAt
        guard elapsed > configuration.dataRateGracePeriod else { return false }
        return Double(reader.messageSize) < Double(configuration.minimumDataRate) * elapsed.timeInterval
    }
}
