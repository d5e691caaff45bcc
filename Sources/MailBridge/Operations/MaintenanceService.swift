// Security: deletes what is no longer to be kept. Threads older than `[retention]` allows are crypto-shredded
// (their keys deleted, MaintenanceStore.applyRetention on either engine), ended web sessions are purged. It logs
// counts only.

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
    /// Retention's transactions, on either engine.
    let maintenance: any MaintenanceStore
    let webhooks: (any WebhookEventStore)?
    /// Where the web sessions are kept (purged of ended ones).
    let webState: any WebStateStore
    let policy: RetentionPolicy
    /// How long rejected encrypted messages are kept sealed (`[retention] rejected-days`, issue 28).
    let rejectedRetention: TimeInterval
    let sessionIdleTimeout: TimeInterval
    let interval: Duration
    let logger: Logger
    let now: @Sendable () -> Date

    /// `retention` comes from the configuration; its field names were validated against the mailboxes.
    public convenience init(store: ThreadStore, retention: BridgeConfiguration.Retention,
                            sessionIdleTimeout: TimeInterval, interval: Duration = .seconds(3600), logger: Logger,
                            now: @escaping @Sendable () -> Date = { Date() }) throws {
        try self.init(maintenance: ThreadStoreMaintenance(store), webState: ThreadStoreWebState(store),
                      retention: retention, sessionIdleTimeout: sessionIdleTimeout, interval: interval, logger: logger,
                      now: now)
    }

    /// Maintenance on any engine.
    /// - Parameter webhooks: the webhook outbox, whose events are deleted ``WebhookEvent/keptFor`` after they
    ///   finished (issue 29), on every node and whether or not this one sends them.
    public init(maintenance: any MaintenanceStore, webState: any WebStateStore,
                retention: BridgeConfiguration.Retention, sessionIdleTimeout: TimeInterval,
                webhooks: (any WebhookEventStore)? = nil, interval: Duration = .seconds(3600), logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) throws {
        var days: [CounsellingField: Int] = [:]
        for (field, value) in retention.fieldDays { days[try CounsellingField(field)] = value }
        policy = RetentionPolicy(defaultDays: retention.defaultDays, days: days)
        rejectedRetention = TimeInterval(retention.rejectedDays) * 86_400
        self.maintenance = maintenance
        self.webState = webState
        self.webhooks = webhooks
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
            let report = try await maintenance.applyRetention(policy: policy, now: time)
            let sessions = try await webState.purgeExpiredWebSessions(now: time, idleTimeout: sessionIdleTimeout)
            let rejected = try await maintenance.expireRejected(before: time.addingTimeInterval(-rejectedRetention))
            let events = try await webhooks?.pruneWebhookEvents(before: time.addingTimeInterval(-WebhookEvent.keptFor))
                ?? 0
            if report.deletedThreads + report.prunedAuditEntries + sessions + rejected + events > 0 {
                logger.notice("maintenance", metadata: [
                    "retention.threads": "\(report.deletedThreads)", "retention.audit": "\(report.prunedAuditEntries)",
                    "web.sessions-purged": "\(sessions)", "retention.rejected": "\(rejected)",
                    "retention.webhook-events": "\(events)",
                ])
            }
            return report
        } catch {
            logger.error("maintenance failed", metadata: ["error": "\(type(of: error))"])
            return nil
        }
    }
}
