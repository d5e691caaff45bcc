import Foundation

/// How long data is kept. Threads are deleted (crypto-shredded) a number of days after their last activity.
///
/// ```swift
/// let policy = RetentionPolicy(defaultDays: 180, days: [try CounsellingField("sucht"): 90])
/// let report = try await store.applyRetention(policy: policy, now: clock.now)
/// ```
public struct RetentionPolicy: Sendable, CustomStringConvertible {
    /// Days after last activity for fields not listed in ``days``; `nil` keeps those threads.
    public var defaultDays: Int?
    /// Days after last activity, per field.
    public var days: [CounsellingField: Int]
    /// Days to remember ciphertext hashes for replay detection.
    public var seenCiphertextDays: Int
    /// Days to remember auto-reply rate-limit entries.
    public var rateLimitDays: Int
    /// Days to keep failed outbox items that belong to no thread.
    public var failedOutboxDays: Int
    /// Days to keep audit entries; `nil` keeps them forever. Retention is the only code path that deletes audit
    /// rows: SQL triggers refuse every UPDATE of the audit table, and every DELETE unless retention has opened
    /// the prune gate inside its own transaction (a guard against stray code, not against file access).
    public var auditDays: Int?

    /// Creates a policy.
    public init(
        defaultDays: Int?,
        days: [CounsellingField: Int] = [:],
        seenCiphertextDays: Int = 365,
        rateLimitDays: Int = 30,
        failedOutboxDays: Int = 30,
        auditDays: Int? = 730
    ) {
        self.defaultDays = defaultDays
        self.days = days
        self.seenCiphertextDays = seenCiphertextDays
        self.rateLimitDays = rateLimitDays
        self.failedOutboxDays = failedOutboxDays
        self.auditDays = auditDays
    }

    public var description: String {
        "RetentionPolicy(default: \(defaultDays.map(String.init) ?? "keep"), fields: \(days.count))"
    }
}

/// What ``ThreadStore/applyRetention(policy:now:)`` deleted.
public struct RetentionReport: Hashable, Sendable {
    /// Threads deleted (with their keys, messages, attachments and outbox items).
    public var deletedThreads: Int
    /// Replay-detection hashes forgotten.
    public var forgottenCiphertextHashes: Int
    /// Rate-limit entries forgotten.
    public var forgottenRateLimits: Int
    /// Failed thread-less outbox items deleted.
    public var deletedOutboxItems: Int
    /// Audit entries pruned.
    public var prunedAuditEntries: Int
}
