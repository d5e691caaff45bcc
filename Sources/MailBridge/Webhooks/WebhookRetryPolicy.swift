public import Foundation

/// When a webhook event that was not delivered is tried again (issue 29): soon at first, then less and less often,
/// the last time when `giveUpAfter` has passed since the event happened; a failure after that gives it up
/// (`failed`). A pure value.
///
/// The default steps follow the schedule the Standard Webhooks specification suggests (immediately, 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h, 10 h …).
///
/// ```swift
/// let policy = WebhookRetryPolicy(giveUpAfter: .seconds(72 * 3600))
/// policy.nextAttempt(afterAttempts: 1, occurredAt: event.occurredAt, now: now)  // now + 5 s
/// ```
public struct WebhookRetryPolicy: Sendable, Hashable {
    /// The wait after the first, second, … failed attempt; the last step repeats.
    public var steps: [Duration] = [.seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18_000),
                                    .seconds(36_000)]
    /// How long after the event it may still be delivered.
    public var giveUpAfter: Duration

    public init(giveUpAfter: Duration) { self.giveUpAfter = giveUpAfter }

    /// When to try again after `attempts` failed attempts, or nil to give up.
    public func nextAttempt(afterAttempts attempts: Int, occurredAt: Date, now: Date) -> Date? {
        guard !steps.isEmpty else { return nil }
        let wait = steps[min(max(attempts, 1), steps.count) - 1]
        let deadline = occurredAt.addingTimeInterval(giveUpAfter.timeInterval)
        // The last attempt comes at the deadline, not a step before it.
        guard now < deadline else { return nil }
        return min(now.addingTimeInterval(wait.timeInterval), deadline)
    }
}
