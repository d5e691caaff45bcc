// Security: counts outbox rows and held replies by kind and state; decrypts nothing and exports only counts with
// fixed labels (kind and state names).

import CoreMetrics
public import Logging
public import ServiceLifecycle
public import ThreadStore

/// Keeps the gauges `mailbridge_outbound_queue_depth{kind,state}` current (the "queue depth" the example
/// configuration promises under `[metrics]`): for every outbox kind (`redirect_reply`, `counsellor_reply`,
/// `notification`, `delivery_status`, `receipt`) the items `pending` and `failed`, and the counsellor replies
/// `held` back for a client key. Every combination is exported, zeros included, so alerts need no `absent()`.
/// Refreshed every `interval` from two aggregate queries, so a scrape never waits for the store.
///
/// ```swift
/// let monitor = QueueDepthMonitor(gauges: ThreadStoreGauges(store), metrics: metrics, logger: logger)
/// ```
public final class QueueDepthMonitor: Service, Sendable {
    /// The counts, on either engine.
    let gauges: any GaugeStore
    let metrics: GatewayMetrics
    let interval: Duration
    let logger: Logger

    public init(gauges: any GaugeStore, metrics: GatewayMetrics, interval: Duration = .seconds(15), logger: Logger) {
        self.gauges = gauges
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await runPeriodically(every: interval) { await self.refresh() }
    }

    /// Counts once and sets the gauges; returns the depth (nil if the store failed).
    @discardableResult
    public func refresh() async -> OutboxDepth? {
        do {
            let depth = try await gauges.outboxDepth()
            metrics.outboundQueueDepth(depth)
            return depth
        } catch {
            logger.error("queue depth count failed", metadata: ["error": "\(type(of: error))"])
            return nil
        }
    }
}

extension GatewayMetrics {
    /// Sets `mailbridge_outbound_queue_depth{kind,state}` for every kind and state, and the held replies.
    func outboundQueueDepth(_ depth: OutboxDepth) {
        func set(_ kind: OutboxKind, _ state: String, _ count: Int) {
            CoreMetrics.Gauge(label: "mailbridge_outbound_queue_depth",
                              dimensions: [("kind", Self.metricName(kind)), ("state", state)], factory: factory)
                .record(count)
        }
        for kind in OutboxKind.allCases {
            for state in OutboxState.allCases { set(kind, Self.metricName(state), depth.count(kind, state)) }
        }
        set(.counsellorReply, "held", depth.heldReplies)
    }

    /// The label value of an outbox kind (snake_case, as `queue list` names them in words).
    static func metricName(_ kind: OutboxKind) -> String {
        switch kind {
        case .redirectReply: "redirect_reply"
        case .counsellorReply: "counsellor_reply"
        case .notification: "notification"
        case .deliveryStatus: "delivery_status"
        case .receipt: "receipt"
        }
    }

    /// The label value of an outbox state.
    static func metricName(_ state: OutboxState) -> String {
        switch state {
        case .pending: "pending"
        case .failed: "failed"
        }
    }
}
