public import Foundation

/// When to try a failed delivery again: exponential backoff with bounded jitter, a maximum number of attempts
/// and a maximum age (RFC 5321 §4.5.4.1: retry at least 30 minutes apart, give up after 4-5 days; Postfix
/// `minimal_backoff_time`/`maximal_backoff_time`/`maximal_queue_lifetime`). A pure value: time and randomness
/// are parameters.
///
/// ```swift
/// var rng = SystemRandomNumberGenerator()
/// switch policy.decision(afterAttempts: item.attempts + 1, queuedAt: item.queuedAt, now: .now, using: &rng) {
/// case .retry(let at): try await store.markRetry(item.id, nextAttempt: at, lastError: failure)
/// case .giveUp(let reason): try await store.markFailed(item.id, reason: failure)
/// }
/// ```
public struct RetryPolicy: Hashable, Sendable {
    public enum Decision: Hashable, Sendable {
        case retry(at: Date)
        case giveUp(GiveUpReason)
    }

    public enum GiveUpReason: String, Hashable, Sendable {
        case maximumAttempts, maximumAge
    }

    /// Delay after the first failed attempt.
    public var initialDelay: Duration
    /// Growth per attempt (≥ 1).
    public var multiplier: Double
    /// No delay is longer than this, jitter included.
    public var maximumDelay: Duration
    /// Each delay is scaled by a random factor in `1 - jitter ... 1 + jitter` (0 ≤ jitter < 1), so many items that
    /// failed together do not all come back at once.
    public var jitter: Double
    /// Attempts in total, the first one included.
    public var maximumAttempts: Int
    /// Counted from queueing; the last attempt happens no later than this.
    public var maximumAge: Duration

    public init(
        initialDelay: Duration = .seconds(300), multiplier: Double = 2, maximumDelay: Duration = .seconds(4 * 3600),
        jitter: Double = 0.2, maximumAttempts: Int = 30, maximumAge: Duration = .seconds(5 * 24 * 3600)
    ) {
        precondition(initialDelay > .zero && maximumDelay >= initialDelay && multiplier >= 1)
        precondition((0..<1).contains(jitter) && maximumAttempts >= 1 && maximumAge > .zero)
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.jitter = jitter
        self.maximumAttempts = maximumAttempts
        self.maximumAge = maximumAge
    }

    /// The range the delay after `attempts` failed attempts is drawn from.
    public func delayBounds(afterAttempts attempts: Int) -> ClosedRange<Duration> {
        let base = baseDelay(afterAttempts: attempts)
        let low = min(base * (1 - jitter), maximumDelay.timeInterval)
        let high = min(base * (1 + jitter), maximumDelay.timeInterval)
        return Self.duration(low)...Self.duration(high)
    }

    /// What to do after `attempts` attempts (≥ 1) have failed temporarily.
    public func decision(
        afterAttempts attempts: Int, queuedAt: Date, now: Date, using generator: inout some RandomNumberGenerator
    ) -> Decision {
        precondition(attempts >= 1)
        if attempts >= maximumAttempts { return .giveUp(.maximumAttempts) }
        let deadline = queuedAt.addingTimeInterval(maximumAge.timeInterval)
        if now >= deadline { return .giveUp(.maximumAge) }
        let bounds = delayBounds(afterAttempts: attempts)
        let delay = Double.random(
            in: bounds.lowerBound.timeInterval...bounds.upperBound.timeInterval, using: &generator)
        return .retry(at: min(now.addingTimeInterval(delay), deadline))
    }

    private func baseDelay(afterAttempts attempts: Int) -> Double {
        let exponent = Double(max(0, attempts - 1))
        let base = initialDelay.timeInterval * pow(multiplier, min(exponent, 64))
        return min(base, maximumDelay.timeInterval)
    }

    static func duration(_ seconds: Double) -> Duration {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
