// Security: counts failed logins per user name and per client address (both attacker-chosen) in memory only.
// The table is bounded; user names never leave it (no logging).

public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pure login rate limiter: after `maximumFailures` failures of one key within `window`, the key is locked for
/// `lockout`; every further lock of the same key within `escalationMemory` of the previous one doubles the time, up
/// to `maximumLockout` (15, 30, 60 minutes … 24 hours), so a patient guesser gets a few dozen tries a day, not
/// hundreds. Keys are strings such as `"user:anna"` or `"ip:192.0.2.1"`; time is passed in (tests use a fake clock).
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
        /// How long a key stays locked the first time (default 15 minutes).
        public var lockout: TimeInterval = 15 * 60
        /// The longest lock after doubling (default 24 hours).
        public var maximumLockout: TimeInterval = 24 * 60 * 60
        /// A lock that starts within this time after the previous lock ended counts as a repeat and is twice as
        /// long (default 24 hours); after that long without a lock the key starts again at `lockout`.
        public var escalationMemory: TimeInterval = 24 * 60 * 60
        /// Most keys tracked at once; beyond it, the stalest unlocked entries are dropped.
        public var maximumKeys = 10_000

        /// The defaults.
        public init() {}
    }

    struct Entry: Sendable {
        var failures: [Date] = []
        var lockedUntil: Date?
        /// Locks in a row, each within `escalationMemory` of the previous one's end.
        var locks = 0
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
            let repeated = entry.lockedUntil.map { now.timeIntervalSince($0) < policy.escalationMemory } ?? false
            entry.locks = repeated ? entry.locks + 1 : 1
            entry.lockedUntil = now + lockDuration(afterLocks: entry.locks)
            entry.failures = []
        }
        entries[key] = entry
        return isLocked(key, now: now)
    }

    /// How long the `locks`-th lock in a row lasts: `lockout` doubled `locks - 1` times, at most `maximumLockout`.
    public func lockDuration(afterLocks locks: Int) -> TimeInterval {
        let doublings = min(max(locks - 1, 0), 30)
        return min(policy.lockout * Double(1 << doublings), max(policy.maximumLockout, policy.lockout))
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

    /// Drops entries that neither lock, nor remember a lock for escalation, nor hold a failure within the window;
    /// if still full, drops unlocked entries (oldest last failure first) until there is room.
    private mutating func prune(now: Date) {
        entries = entries.filter { _, entry in
            (entry.lockedUntil.map { now.timeIntervalSince($0) < policy.escalationMemory } ?? false)
                || entry.failures.contains { now.timeIntervalSince($0) < policy.window }
        }
        guard entries.count >= policy.maximumKeys else { return }
        let unlocked = entries.filter { !(($0.value.lockedUntil.map { now < $0 }) ?? false) }
            .sorted { ($0.value.failures.last ?? .distantPast) < ($1.value.failures.last ?? .distantPast) }
        for (key, _) in unlocked.prefix(entries.count - policy.maximumKeys + 1) { entries[key] = nil }
    }
}

extension LoginRateLimit {
    /// The rate-limit key of a client address: an IPv6 address counts per /64 (one customer's network usually
    /// holds a whole /64, so per-address keys would give it 2^64 fresh tries), an IPv4-mapped IPv6 address as the
    /// IPv4 address, anything else (IPv4, or a value that is no address) as it is.
    ///
    /// ```swift
    /// LoginRateLimit.addressKey("2001:db8:1:2:a::1")   // "ip:2001:db8:1:2::/64"
    /// LoginRateLimit.addressKey("::ffff:192.0.2.1")    // "ip:192.0.2.1"
    /// ```
    public static func addressKey(_ address: String) -> String {
        var text = address
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard text.contains(":"), inet_pton(AF_INET6, text, &bytes) == 1 else { return "ip:" + address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return "ip:" + bytes[12...].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map {
            String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
        }
        return "ip:" + groups.joined(separator: ":") + "::/64"
    }
}
