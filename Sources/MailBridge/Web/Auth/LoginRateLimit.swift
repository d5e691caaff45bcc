// Security: counts failed logins per user name and per client address (both attacker-chosen) in memory only.
// The table is bounded; user names never leave it (no logging).

public import Foundation

/// A pure login rate limiter: after `maximumFailures` failures of one key within `window`, the key is locked for
/// `lockout`. Keys are strings such as `"user:anna"` or `"ip:192.0.2.1"`; time is passed in (tests use a fake clock).
///
/// ```swift
/// var limit = LoginRateLimit()
/// if limit.isLocked("user:anna", now: now) { /* 429 */ }
/// limit.recordFailure("user:anna", now: now)
/// ```
public struct LoginRateLimit: Sendable {
    /// The thresholds.
    public struct Policy: Sendable, Hashable {
        /// Failures within `window` that lock a key (default 5).
        public var maximumFailures = 5
        /// How far back failures count (default 15 minutes).
        public var window: TimeInterval = 15 * 60
        /// How long a key stays locked (default 15 minutes).
        public var lockout: TimeInterval = 15 * 60
        /// Most keys tracked at once; beyond it, the stalest unlocked entries are dropped.
        public var maximumKeys = 10_000

        /// The defaults.
        public init() {}
    }

    struct Entry: Sendable {
        var failures: [Date] = []
        var lockedUntil: Date?
    }

    /// The thresholds in use.
    public let policy: Policy
    private(set) var entries: [String: Entry] = [:]

    /// A limiter with no failures recorded.
    public init(policy: Policy = Policy()) { self.policy = policy }

    /// Whether `key` is locked at `now`.
    public func isLocked(_ key: String, now: Date) -> Bool {
        guard let until = entries[key]?.lockedUntil else { return false }
        return now < until
    }

    /// Records a failure; returns whether `key` is now locked.
    @discardableResult
    public mutating func recordFailure(_ key: String, now: Date) -> Bool {
        if entries[key] == nil, entries.count >= policy.maximumKeys { prune(now: now) }
        var entry = entries[key] ?? Entry()
        entry.failures = entry.failures.filter { now.timeIntervalSince($0) < policy.window } + [now]
        if entry.failures.count >= policy.maximumFailures {
            entry.lockedUntil = now + policy.lockout
            entry.failures = []
        }
        entries[key] = entry
        return isLocked(key, now: now)
    }

    /// Forgets the failures of `key` (after a successful login). A running lock stays.
    public mutating func recordSuccess(_ key: String, now: Date) {
        guard let entry = entries[key] else { return }
        if let until = entry.lockedUntil, now < until {
            entries[key]?.failures = []
        } else {
            entries[key] = nil
        }
    }

    /// Drops entries that neither lock nor hold a failure within the window; if still full, drops unlocked
    /// entries (oldest last failure first) until there is room.
    private mutating func prune(now: Date) {
        entries = entries.filter { _, entry in
            (entry.lockedUntil.map { now < $0 } ?? false)
                || entry.failures.contains { now.timeIntervalSince($0) < policy.window }
        }
        guard entries.count >= policy.maximumKeys else { return }
        let unlocked = entries.filter { !(($0.value.lockedUntil.map { now < $0 }) ?? false) }
            .sorted { ($0.value.failures.last ?? .distantPast) < ($1.value.failures.last ?? .distantPast) }
        for (key, _) in unlocked.prefix(entries.count - policy.maximumKeys + 1) { entries[key] = nil }
    }
}
