// Security: deletes what is no longer to be kept. Threads older than `[retention]` allows are crypto-shredded
// (their keys deleted, ThreadStore.applyRetention), ended web sessions are purged. It logs counts only.

public import Foundation
public import Logging
public import ServiceLifecycle
public import ThreadStore

/// Periodic housekeeping of the running gateway: the `[retention]` policy (threads, replay hashes, rate-limit
/// entries, failed thread-less outbox rows, old audit rows) and expired web sessions. Runs once at start, then
/// every `interval`.
///
/// ```swift
/// let maintenance = MaintenanceService(store: store, retention: configuration.retention,
///                                      sessionIdleTimeout: 30 * 60, logger: logger)
/// ```
public final class MaintenanceService: Service, Sendable {
    let store: ThreadStore
    let policy: RetentionPolicy
    /// How long rejected encrypted messages are kept sealed (`[retention] rejected-days`, issue 28).
    let rejectedRetention: TimeInterval
    let sessionIdleTimeout: TimeInterval
    let interval: Duration
    let logger: Logger
    let now: @Sendable () -> Date

    /// `retention` comes from the configuration; its field names were validated against the mailboxes.
    public init(store: ThreadStore, retention: BridgeConfiguration.Retention, sessionIdleTimeout: TimeInterval,
                interval: Duration = .seconds(3600), logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) throws {
        var days: [CounsellingField: Int] = [:]
        for (field, value) in retention.fieldDays { days[try CounsellingField(field)] = value }
        policy = RetentionPolicy(defaultDays: retention.defaultDays, days: days)
        rejectedRetention = TimeInterval(retention.rejectedDays) * 86_400
        self.store = store
        self.sessionIdleTimeout = sessionIdleTimeout
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        await runPeriodically(every: interval) { await self.runOnce() }
    }

    /// One pass; returns what retention deleted (nil if the store failed; that is logged and tried next time).
    @discardableResult
    public func runOnce() async -> RetentionReport? {
        let time = now()
        do {
            let report = try await store.applyRetention(policy: policy, now: time)
            let idle = sessionIdleTimeout
            let sessions = try await store.write { tx in try tx.purgeExpiredWebSessions(now: time, idleTimeout: idle) }
            let cutoff = time.addingTimeInterval(-rejectedRetention)
            let rejected = try await store.write { tx in try tx.expireRejected(before: cutoff) }
            if report.deletedThreads + report.prunedAuditEntries + sessions + rejected > 0 {
                logger.notice("maintenance", metadata: [
                    "retention.threads": "\(report.deletedThreads)", "retention.audit": "\(report.prunedAuditEntries)",
                    "web.sessions-purged": "\(sessions)", "retention.rejected": "\(rejected)",
                ])
            }
            return report
        } catch {
            logger.error("maintenance failed", metadata: ["error": "\(type(of: error))"])
            return nil
        }
    }
}
