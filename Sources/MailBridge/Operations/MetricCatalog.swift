// Security: the catalog holds fixed names and help texts; label values come from fixed enumerations and are
// turned into snake_case names here. No address, subject, thread ID or queue ID is ever a label value.

import CoreMetrics
import Prometheus

/// Every metric family the gateway exports, with the help text of its `# HELP` line (issue 22: each family
/// carries HELP and TYPE lines). swift-prometheus writes `# HELP` only for metrics made with a help text, and its
/// swift-metrics factory passes none; ``DescribedMetricsFactory`` passes the catalog's. A family missing here
/// has no `# HELP` line, which `MetricsExpositionTests` reports.
enum MetricCatalog {
    static let help: [String: String] = [
        "mailbridge_smtp_messages_accepted_total": "Messages answered with 250 after they were durably spooled.",
        "mailbridge_inbound_processing_seconds":
            "Time from the end of DATA until the thread is stored or the redirect queued.",
        "mailbridge_inbound_processed_total":
            "Spooled messages processed by the pipeline, by outcome (and organisation, with [[organisation]]).",
        "mailbridge_outbound_results_total": "Outbound delivery attempts by result: delivered, retry or failed.",
        "mailbridge_outbound_queue_depth":
            "Outbox items by kind and state (pending, failed), and held counsellor replies (state held).",
        "mailbridge_threads_waiting":
            "Open threads whose oldest unanswered client message has waited longer than over_hours hours.",
        "mailbridge_imap_messages_set_aside_total":
            "IMAP messages set aside into the failed folder (moved no: they could not be moved), by reason.",
        "mailbridge_gateway_keys_expiring": "Current gateway keys within 30 days of their expiry (alert above 0).",
        "mailbridge_gateway_key_expiry_seconds": "Seconds until the soonest expiry of a current gateway key.",
        "mailbridge_spool_quarantined_total": "Spool entries that could not be read and were moved to quarantine.",
        "mailbridge_rejected_kept_total": "Rejected encrypted messages kept sealed for the administrator, by reason.",
        "mailbridge_organisation_key_loaded":
            "1 when the organisation's own master key is loaded, 0 when it is missing or refused (its mail waits).",
        "mailbridge_webhook_results_total":
            "Webhook attempts by result: delivered, retry (tried again later) or failed (given up).",
    ]

    /// `value` as a snake_case label value: `notForUs` → `not_for_us`, `fetch-failed` → `fetch_failed`.
    static func labelValue(_ value: String) -> String {
        var result = ""
        for character in value {
            if character == "-" || character == " " || character == "." {
                result.append("_")
            } else if character.isUppercase {
                if let last = result.last, last != "_" { result.append("_") }
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// swift-metrics handlers on a Prometheus registry, made with the help text of ``MetricCatalog`` (the library's
/// `PrometheusMetricsFactory` makes them without). Metrics not in the catalog are made by that factory, without
/// help text. Each name always gets the same help text, as the registry requires.
struct DescribedMetricsFactory: CoreMetrics.MetricsFactory {
    let base: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry) { base = PrometheusMetricsFactory(registry: registry) }

    private func descriptor(_ label: String) -> MetricNameDescriptor? {
        MetricCatalog.help[label].map { MetricNameDescriptor(metricName: label, unitName: "", helpText: $0) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CoreMetrics.CounterHandler {
        guard let descriptor = descriptor(label) else { return base.makeCounter(label: label, dimensions: dimensions) }
        return base.registry.makeCounter(descriptor: descriptor, labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
        -> any CoreMetrics.FloatingPointCounterHandler
    {
        guard let descriptor = descriptor(label) else {
            return base.makeFloatingPointCounter(label: label, dimensions: dimensions)
        }
        return base.registry.makeCounter(descriptor: descriptor, labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool)
        -> any CoreMetrics.RecorderHandler
    {
        guard let descriptor = descriptor(label) else {
            return base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        guard aggregate else { return base.registry.makeGauge(descriptor: descriptor, labels: dimensions) }
        let buckets = base.valueHistogramBuckets[label] ?? base.defaultValueHistogramBuckets
        return base.registry.makeValueHistogram(descriptor: descriptor, labels: dimensions, buckets: buckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any CoreMetrics.MeterHandler {
        guard let descriptor = descriptor(label) else { return base.makeMeter(label: label, dimensions: dimensions) }
        return base.registry.makeGauge(descriptor: descriptor, labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any CoreMetrics.TimerHandler {
        guard let descriptor = descriptor(label) else { return base.makeTimer(label: label, dimensions: dimensions) }
        let buckets = base.durationHistogramBuckets[label] ?? base.defaultDurationHistogramBuckets
        return base.registry.makeDurationHistogram(descriptor: descriptor, labels: dimensions, buckets: buckets)
    }

    func destroyCounter(_ handler: any CoreMetrics.CounterHandler) { base.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any CoreMetrics.FloatingPointCounterHandler) {
        base.destroyFloatingPointCounter(handler)
    }
    func destroyRecorder(_ handler: any CoreMetrics.RecorderHandler) { base.destroyRecorder(handler) }
    func destroyMeter(_ handler: any CoreMetrics.MeterHandler) { base.destroyMeter(handler) }
    func destroyTimer(_ handler: any CoreMetrics.TimerHandler) { base.destroyTimer(handler) }
}
