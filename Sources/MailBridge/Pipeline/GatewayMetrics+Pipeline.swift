import CoreMetrics
import Foundation

/// The pipeline's metrics: outcomes and the time from `250` to a visible thread.
extension GatewayMetrics {
    /// The pipeline committed an outcome; `received` is when the message was accepted, so the timer measures
    /// end of DATA to "thread visible" (or redirect queued). With `organisation` (an `[[organisation]]` ID, or "-"
    /// for mail to no organisation's mailbox; issue 29) the counter carries it as a label.
    func processed(_ outcome: AcceptOutcome, received: Date, now: Date = Date(), organisation: String? = nil) {
        let dimensions = (organisation.map { [("organisation", $0)] } ?? []) + [("outcome", outcome.metricLabel)]
        CoreMetrics.Counter(label: "mailbridge_inbound_processed_total", dimensions: dimensions,
                            factory: factory).increment()
        latency.recordNanoseconds(Int64(max(0, now.timeIntervalSince(received)) * 1e9))
    }

    /// A rejected encrypted message was kept sealed (issue 28); `reason` is the rejection reason's name.
    func rejectedKept(_ reason: AcceptOutcome.RejectionReason) {
        CoreMetrics.Counter(label: "mailbridge_rejected_kept_total",
                            dimensions: [("reason", MetricCatalog.labelValue(reason.rawValue))],
                            factory: factory).increment()
    }
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
        case .rejectedEncrypted(let reason): "rejected_\(MetricCatalog.labelValue(reason.rawValue))"
        }
    }
}
