// Security: metrics are counts and durations with fixed, content-free labels (outcome codes, delivery results).
// No address, subject, thread ID or queue ID ever becomes a label value.

import CoreMetrics
import Foundation
public import Prometheus

/// The gateway's Prometheus metrics, made through swift-metrics on a registry of their own (not the process-wide
/// `MetricsSystem`, so tests and several gateways in one process do not share counters).
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let accepted: CoreMetrics.Counter
    private let latency: CoreMetrics.Timer

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        accepted = CoreMetrics.Counter(label: "mailbridge_smtp_messages_accepted_total", factory: factory)
        latency = CoreMetrics.Timer(label: "mailbridge_inbound_processing_seconds", factory: factory)
    }

    /// A message got its `250` (it is durably spooled).
    func messageAccepted() { accepted.increment() }

    /// The pipeline committed an outcome; `received` is when the message was accepted, so the timer measures
    /// end of DATA to "thread visible" (or redirect queued).
    func processed(_ outcome: AcceptOutcome, received: Date, now: Date = Date()) {
        CoreMetrics.Counter(label: "mailbridge_inbound_processed_total", dimensions: [("outcome", outcome.metricLabel)],
                            factory: factory).increment()
        latency.recordNanoseconds(Int64(max(0, now.timeIntervalSince(received)) * 1e9))
    }

    /// A delivery attempt of the outbound queue ended: `delivered`, `retry` or `failed`.
    func outboundResult(_ result: String) {
        CoreMetrics.Counter(label: "mailbridge_outbound_results_total", dimensions: [("result", result)],
                            factory: factory).increment()
    }

    /// A spool entry could not be read and was moved to `spool/quarantine/`.
    func spoolQuarantined(_ cause: QuarantineCause) {
        CoreMetrics.Counter(label: "mailbridge_spool_quarantined_total", dimensions: [("cause", cause.rawValue)],
                            factory: factory).increment()
    }

    /// Sets the gauge `mailbridge_threads_waiting{over_hours="N"}`: threads whose oldest unanswered message has
    /// waited longer than `hours` (see ``WaitingThreadsMonitor``).
    func threadsWaiting(overHours hours: Int, count: Int) {
        CoreMetrics.Gauge(label: "mailbridge_threads_waiting", dimensions: [("over_hours", "\(hours)")],
                          factory: factory).record(count)
    }

    /// An IMAP message was moved to the failed folder (or left there, `moved` false): `fetch-failed`/`too-large`.
    func imapMessageSetAside(reason: String, moved: Bool) {
        CoreMetrics.Counter(label: "mailbridge_imap_messages_set_aside_total",
                            dimensions: [("reason", reason), ("moved", moved ? "yes" : "no")],
                            factory: factory).increment()
    }

    /// A rejected encrypted message was kept sealed (issue 28); `reason` is the rejection reason's name.
    func rejectedKept(_ reason: AcceptOutcome.RejectionReason) {
        CoreMetrics.Counter(label: "mailbridge_rejected_kept_total", dimensions: [("reason", reason.rawValue)],
                            factory: factory).increment()
    }

    /// Sets the gateway key gauges (issue 20): `mailbridge_gateway_keys_expiring` (current keys within 30 days of
    /// their expiry; alert on > 0) and `mailbridge_gateway_key_expiry_seconds` (until the soonest expiry of a
    /// current key; absent while no key expires).
    func gatewayKeys(expiringSoon: Int, soonestExpiry: TimeInterval?) {
        CoreMetrics.Gauge(label: "mailbridge_gateway_keys_expiring", factory: factory).record(expiringSoon)
        if let soonestExpiry {
            CoreMetrics.Gauge(label: "mailbridge_gateway_key_expiry_seconds", factory: factory)
                .record(Int(soonestExpiry))
        }
    }

    /// The text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

extension AcceptOutcome {
    /// The case name only: never an ID.
    var metricLabel: String {
        switch self {
        case .imported: "imported"
        case .duplicate: "duplicate"
        case .redirected: "redirected"
        case .redirectSuppressed: "redirect_suppressed"
        case .deliveryReport: "delivery_report"
        case .rejectedEncrypted(let reason): "rejected_\(reason.rawValue)"
        }
    }
}
