public import PGPShim
import ThreadStore

/// How the pipeline retries a message whose processing failed for a transient reason in the engine or the file
/// system (``PGPError/isTransient``: a keyring being rewritten, a lock, a killed agent, an I/O error, or gpg's
/// "no secret key" contradicted by the keyring). Issue 28: such a failure is retried, never mapped to a final
/// verdict. After the last attempt the error is thrown on, so the message stays in the spool and
/// ``PipelineRunner`` tries it again later (``TransientDeferral``): never a rejection.
///
/// ```swift
/// let outcome = try await EngineRetry.default.run(logger: logger, queue: id) { try await process(message) }
/// ```
public struct EngineRetry: Sendable {
    /// Attempts in all (at least 1).
    public var attempts: Int
    /// Wait before the second attempt; each later wait is four times the one before.
    public var firstDelay: Duration

    /// Four attempts within about 2 s (0.1 + 0.4 + 1.6 s): longer than a keyring rewrite or an agent restart.
    public static let `default` = EngineRetry(attempts: 4, firstDelay: .milliseconds(100))

    public init(attempts: Int, firstDelay: Duration) {
        self.attempts = max(1, attempts)
        self.firstDelay = firstDelay
    }

    /// Whether `error` is transient (the runner defers the message instead of counting a failure).
    public static func isTransient(_ error: any Error) -> Bool {
        if error is OrganisationKeyUnavailable { return true }
        if let error = error as? ThreadStoreError { return error.code == .organisationKeyMissing }
        return (error as? PGPError)?.isTransient == true
    }

    /// Whether this policy runs the work again after `error`: transient errors, except unfinished gpg runs that
    /// ``PGPService`` already ran again (``UnfinishedRuns``): those go to the runner's deferral at once.
    static func retries(_ error: any Error) -> Bool {
        guard let error = error as? PGPError else { return false }
        return error.isTransient && !error.isUnfinishedRun
    }

    /// Runs `body` until it returns or throws a non-transient error, at most ``attempts`` times. `onRetry` sees
    /// each transient failure that is retried (for the log: error descriptions of PGPShim carry no content).
    public func run<T>(onRetry: (_ attempt: Int, _ error: any Error) -> Void = { _, _ in },
                       _ body: () async throws -> T) async throws -> T {
        var delay = firstDelay
        for attempt in 1... {
            do {
                return try await body()
            } catch let error where attempt < attempts && Self.retries(error) {
                onRetry(attempt, error)
                try await Task.sleep(for: delay)
                delay *= 4
            }
        }
        fatalError("unreachable")
    }
}

/// A message for a field whose organisation's own master key is not loaded (issue 29): it stays in the spool, as
/// received, and is tried again until the key is back. Names no organisation (the log line of the start does).
public struct OrganisationKeyUnavailable: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "the organisation's master key is not loaded; the message waits in the spool" }
}
