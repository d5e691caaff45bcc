/// When ``PipelineRunner`` tries again a message whose processing failed for a transient engine or file-system
/// reason even after the pipeline's own retries (``EngineRetry``): after 5 s, then twice as long each time, at most
/// 10 minutes apart, for as long as it fails. Such a message is never held for good the way a message that keeps
/// failing for other reasons is (`maximumAttempts`): the engine recovering (a restored key, a freed disk) must
/// let it through without a restart. Pure: the runner keeps the counts.
struct TransientDeferral: Sendable, Hashable {
    var firstDelay: Duration = .seconds(5)
    var maximumDelay: Duration = .seconds(600)

    /// The wait after the `failures`-th transient failure in a row (1-based).
    func delay(afterFailures failures: Int) -> Duration {
        var delay = firstDelay
        for _ in 1..<max(1, failures) {
            delay *= 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
