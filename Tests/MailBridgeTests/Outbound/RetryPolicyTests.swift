import Foundation
import MailBridge
import TestSupport
import Testing

/// Backoff, jitter bounds, attempts and age with a fixed clock and a seeded generator (pure).
struct RetryPolicyTests {

    static let policy = RetryPolicy(
        initialDelay: .seconds(60), multiplier: 2, maximumDelay: .seconds(3600), jitter: 0.25, maximumAttempts: 10,
        maximumAge: .seconds(86400))
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func boundsGrowExponentiallyAndAreCapped() {
        #expect(Self.policy.delayBounds(afterAttempts: 1) == .seconds(45) ... .seconds(75))
        #expect(Self.policy.delayBounds(afterAttempts: 2) == .seconds(90) ... .seconds(150))
        #expect(Self.policy.delayBounds(afterAttempts: 4) == .seconds(360) ... .seconds(600))
        #expect(Self.policy.delayBounds(afterAttempts: 7) == .seconds(2700) ... .seconds(3600))  // 3840 capped
        #expect(Self.policy.delayBounds(afterAttempts: 9) == .seconds(2700) ... .seconds(3600))
    }

    @Test(arguments: 1...9)
    func drawnDelaysStayInBoundsAndVary(_ attempts: Int) {
        var generator = SeededGenerator(seed: UInt64(attempts))
        let bounds = Self.policy.delayBounds(afterAttempts: attempts)
        var seen = Set<Int>()
        for _ in 0..<200 {
            guard case .retry(let at) = Self.policy.decision(
                afterAttempts: attempts, queuedAt: Self.start, now: Self.start, using: &generator)
            else { Issue.record("gave up early"); return }
            let delay = at.timeIntervalSince(Self.start)
            #expect(delay >= bounds.lowerBound.timeInterval - 0.001)
            #expect(delay <= bounds.upperBound.timeInterval + 0.001)
            seen.insert(Int(delay))
        }
        #expect(seen.count > 20, "jitter spreads the retries")
    }

    @Test func givesUpAfterMaximumAttempts() {
        var generator = SeededGenerator(seed: 1)
        let decision = Self.policy.decision(afterAttempts: 10, queuedAt: Self.start, now: Self.start, using: &generator)
        #expect(decision == .giveUp(.maximumAttempts))
    }

    @Test func lastAttemptAtMaximumAgeThenGiveUp() {
        var generator = SeededGenerator(seed: 2)
        let nearEnd = Self.start.addingTimeInterval(86400 - 30)
        let decision = Self.policy.decision(afterAttempts: 5, queuedAt: Self.start, now: nearEnd, using: &generator)
        #expect(decision == .retry(at: Self.start.addingTimeInterval(86400)), "clamped to the deadline")
        let atEnd = Self.start.addingTimeInterval(86400)
        #expect(Self.policy.decision(afterAttempts: 6, queuedAt: Self.start, now: atEnd, using: &generator)
            == .giveUp(.maximumAge))
    }
}
