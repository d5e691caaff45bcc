// Security: metrics are counts and durations with fixed, content-free labels (outcome codes, delivery results).
// No address, subject, thread ID or queue ID ever becomes a label value.

import CoreMetrics
import Foundation
public import Prometheus

/// The gateway's Prometheus metrics, made through swift-metrics on a registry of their own (not the process-wide
/// `MetricsSystem`, so tests and several gateways in one process do not share counters).
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// For the metrics other rooms add in extensions (each beside the type it counts). Each name needs its help
    /// text in ``MetricCatalog``.
    let factory: DescribedMetricsFactory
    private let accepted: CoreMetrics.Counter
    let latency: CoreMetrics.Timer

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = DescribedMetricsFactory(registry: registry)
        accepted = CoreMetrics.Counter(label: "mailbridge_smtp_messages_accepted_total", factory: factory)
        latency = CoreMetrics.Timer(label: "mailbridge_inbound_processing_seconds", factory: factory)
    }

    /// A message got its `250` (it is durably spooled).
    func messageAccepted() { accepted.increment() }

    /// A delivery attempt of the outbound queue ended: `delivered`, `retry` or `failed`.
    func outboundResult(_ result: String) {
        CoreMetrics.Counter(label: "mailbridge_outbound_results_total", dimensions: [("result", result)],
                            factory: factory).increment()
    }

    /// Sets the gauge `mailbridge_threads_waiting{over_hours="N"}`: threads whose oldest unanswered message has
    /// waited longer than `hours` (see ``WaitingThreadsMonitor``).
    /// With `organisation` (an `[[organisation]]` id, issue 29) the series carries it as a label.
    func threadsWaiting(overHours hours: Int, count: Int, organisation: String? = nil) {
        let dimensions = (organisation.map { [("organisation", $0)] } ?? []) + [("over_hours", "\(hours)")]
        CoreMetrics.Gauge(label: "mailbridge_threads_waiting", dimensions: dimensions, factory: factory).record(count)
    }

    /// Sets the gauge `mailbridge_organisation_key_loaded{organisation="ID"}` (issue 29): 1 when the
    /// organisation's key is loaded, 0 when its mail waits for it.
    func organisationKey(_ organisation: String, loaded: Bool) {
        CoreMetrics.Gauge(label: "mailbridge_organisation_key_loaded", dimensions: [("organisation", organisation)],
                          factory: factory).record(loaded ? 1 : 0)
    }

    /// An IMAP message was moved to the failed folder (or left there, `moved` false): `fetch_failed`/`too_large`.
    func imapMessageSetAside(reason: String, moved: Bool) {
        CoreMetrics.Counter(label: "mailbridge_imap_messages_set_aside_total",
                            dimensions: [("reason", MetricCatalog.labelValue(reason)), ("moved", moved ? "yes" : "no")],
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
