// Security: counts failed logins per user name and per client address (both attacker-chosen) in memory only.
// The table is bounded; user names never leave it (no logging).

public import Foundation
public import ThreadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pure login rate limiter: after `maximumFailures` failures of one key within `window`, the key is locked for
/// `lockout`; every further lock of the same key within `escalationMemory` of the previous one doubles the time, up
/// to `maximumLockout` (15, 30, 60 minutes … 24 hours), so a patient guesser gets a few dozen tries a day, not
/// hundreds. Keys starting with one of `unescalatedPrefixes` (the user name, which strangers can fail on purpose)
/// always lock for `lockout` only. Keys are strings such as `"user:anna"` or `"ip:192.0.2.1"`; time is passed in
/// (tests use a fake clock).
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
        /// Keys that never escalate: `user:` (anyone can fail a counsellor's name on purpose; escalating it would
        /// lock her out of every new browser for a day at a time).
        public var unescalatedPrefixes: [String] = ["user:"]
        /// Most keys tracked at once; beyond it, the stalest unlocked entries are dropped.
        public var maximumKeys = 10_000

        /// The defaults.
        public init() {}
    }

    /// What the limiter remembers of one key (failures, the lock's end, locks in a row), in memory here and in the
    /// web inbox's store (``WebStateStore/updateLoginLock(_:now:_:)``) alike.
    typealias Entry = LoginLockRecord

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

    /// When the lock of `key` ends, if it is locked at `now`.
    public func lockedUntil(_ key: String, now: Date) -> Date? {
        guard let until = entries[key]?.lockedUntil, now < until else { return nil }
        return until
    }

    /// Records a failure; returns whether `key` is now locked.
    @discardableResult
    public mutating func recordFailure(_ key: String, now: Date) -> Bool {
        if entries[key] == nil, entries.count >= policy.maximumKeys { prune(now: now) }
        var entry = entries[key] ?? Entry()
        addFailure(to: &entry, key: key, now: now)
        entries[key] = entry
        return isLocked(key, now: now)
    }

    /// The failure rule on one key's record: failures older than `window` are dropped, `now` is added, and at
    /// `maximumFailures` the key locks (escalated if the previous lock ended within `escalationMemory`).
    func addFailure(to entry: inout Entry, key: String, now: Date) {
        entry.failures = entry.failures.filter { now.timeIntervalSince($0) < policy.window } + [now]
        if entry.failures.count >= policy.maximumFailures {
            let escalates = !policy.unescalatedPrefixes.contains { key.hasPrefix($0) }
            let repeated = entry.lockedUntil.map { now.timeIntervalSince($0) < policy.escalationMemory } ?? false
            entry.locks = escalates && repeated ? entry.locks + 1 : 1
            entry.lockedUntil = now + lockDuration(afterLocks: entry.locks)
            entry.failures = []
        }
    }

    /// The later of the last failure and the end of the last lock.
    private static func lastEvent(_ entry: Entry) -> Date {
        max(entry.failures.last ?? .distantPast, entry.lockedUntil ?? .distantPast)
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
    /// if still full, drops unlocked entries until there is room: first those that never locked (a flood of fresh
    /// keys cannot push out the memory of a lock), each group oldest last lock or failure first.
    private mutating func prune(now: Date) {
        entries = entries.filter { _, entry in
            (entry.lockedUntil.map { now.timeIntervalSince($0) < policy.escalationMemory } ?? false)
                || entry.failures.contains { now.timeIntervalSince($0) < policy.window }
        }
        guard entries.count >= policy.maximumKeys else { return }
        let unlocked = entries.filter { !(($0.value.lockedUntil.map { now < $0 }) ?? false) }
            .sorted { ($0.value.locks, Self.lastEvent($0.value)) < ($1.value.locks, Self.lastEvent($1.value)) }
        for (key, _) in unlocked.prefix(entries.count - policy.maximumKeys + 1) { entries[key] = nil }
    }
}

extension LoginRateLimit {
    /// The key of a per-account lock (`kind`: `account` for TOTP codes, `password` for the password form). It
    /// includes the time the password was set, so an administrator's `users reset` starts the account afresh
    /// instead of leaving it locked for up to a day.
    public static func accountKey(_ kind: String, _ account: Account) -> String {
        "\(kind):\(account.id.unredactedDescription):\(account.passwordEpoch)"
    }

    /// The rate-limit key of a client address: an IPv6 address counts per /64 (one customer's network usually
    /// holds a whole /64, so per-address keys would give it 2^64 fresh tries); an IPv4-mapped address
    /// (`::ffff:0:0/96`) or a NAT64 one (`64:ff9b::/96`, RFC 6052) as the IPv4 address it carries; a port that a
    /// proxy appended (`192.0.2.1:5000`, `[2001:db8::1]:5000`) is dropped; anything else (IPv4, or a value that is
    /// no address) counts as it is.
    ///
    /// ```swift
    /// LoginRateLimit.addressKey("2001:db8:1:2:a::1")   // "ip:2001:db8:1:2::/64"
    /// LoginRateLimit.addressKey("::ffff:192.0.2.1")    // "ip:192.0.2.1"
    /// ```
    public static func addressKey(_ address: String) -> String {
        var text = address
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            // `[v6]` or `[v6]:port`
            text = String(text[text.index(after: text.startIndex)..<close])
        } else if let colon = text.firstIndex(of: ":"), text[text.index(after: colon)...].allSatisfy(\.isASCIIDigit),
            !text[..<colon].contains(":")
        {
            // `a.b.c.d:port`
            text = String(text[..<colon])
        }
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard text.contains(":"), inet_pton(AF_INET6, text, &bytes) == 1 else { return "ip:" + text }
        let mapped = bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF
        let nat64 = bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]
        if mapped || nat64 {
            return "ip:" + bytes[12...].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map {
            String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
        }
        return "ip:" + groups.joined(separator: ":") + "::/64"
    }
}
