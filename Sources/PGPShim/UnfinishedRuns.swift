/// Whether the last of ``PGPService/unfinishedRunAttempts`` unfinished decryption or key import runs is judged (the
/// default) or thrown as transient, for the task that decrypts.
///
/// `PipelineRunner` sets it to false for its first attempts at a message: a run that ends without a closing status
/// line is a killed gpg as often as corrupt input, and several kills within a fraction of a second (an agent
/// being restarted, an operator's `pkill`) must not become a verdict on a client's message. The runner tries the
/// message again after its deferral (seconds later) and judges on a later attempt, so input that gpg always gives up
/// on still gets its verdict, after a bounded number of runs. Even then a run is judged only if all of its attempt's
/// runs ended after the same status lines (``UnfinishedRunTraces``): kills that outlast the deferrals end runs at
/// random points, or before their first line, and are never a verdict.
///
/// ```swift
/// let outcome = try await UnfinishedRuns.$judged.withValue(false) { try await pipeline.accept(message) }
/// ```
public enum UnfinishedRuns {
    /// True: the last unfinished run is judged by what it reported. False: it is thrown as transient.
    @TaskLocal public static var judged = true
}

extension PGPError {
    /// A gpg run that ended without its result (``GPGContext/unfinishedRun``, ``GPGContext/unfinishedImport``) or
    /// a second run that contradicted the first (``unfinishedRerun``): after ``PGPService``'s own runs again, only
    /// a later attempt at the message can tell a killed gpg from input that gpg always gives up on.
    public var isUnfinishedRun: Bool {
        code == .transient && Self.unfinishedDetails.contains(detail)
    }

    /// The detail of the transient error for a second decryption run, after the sender's key was imported, that
    /// contradicted the first run of the same ciphertext (failed, or still named a signer key it had just imported).
    public static let unfinishedRerun = "decrypting again: gpg contradicted its first run"

    /// A transient error for a gpg run that ended without its closing line (`detail`), carrying the status
    /// keywords it wrote (``unfinishedTrace``).
    static func unfinished(_ detail: String, gpgError: UInt32?, trace: [String], fileID: String = #fileID,
                           line: Int = #line) -> PGPError {
        var error = PGPError(.transient, detail, gpgError: gpgError, fileID: fileID, line: line)
        error.unfinishedTrace = trace
        return error
    }

    /// An unfinished run for the caller's own contradiction (``unfinishedRerun``): not run again at once, but
    /// left to the runner's later attempt, which judges (``UnfinishedRuns/judged``).
    public static func contradictedRerun() -> PGPError { PGPError(.transient, unfinishedRerun) }

    private static let unfinishedDetails: Set<String> = [
        GPGContext.unfinishedRun, GPGContext.unfinishedImport, unfinishedRerun,
    ]
}

/// The status lines of one operation's unfinished runs (``PGPError/unfinishedTrace``), by which ``PGPService``
/// tells input gpg always gives up on (every run ends after the same lines) from a gpg killed at random moments
/// (each run ends elsewhere, or before its first line).
struct UnfinishedRunTraces: Sendable {
    private var traces: [[String]] = []

    var count: Int { traces.count }

    mutating func note(_ error: PGPError) { traces.append(error.unfinishedTrace ?? []) }

    /// The status lines every run so far ended after, if they were the same and not none; nil otherwise.
    var repeated: [String]? {
        guard let first = traces.first, !first.isEmpty, traces.allSatisfy({ $0 == first }) else { return nil }
        return first
    }
}
