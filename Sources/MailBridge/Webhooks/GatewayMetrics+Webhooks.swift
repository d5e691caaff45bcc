// Security: a counter with a fixed label (the attempt's result); no event, thread or URL is a label value.

import CoreMetrics

extension GatewayMetrics {
    /// A webhook attempt ended (issue 29): `delivered`, `retry` or `failed` (given up), as
    /// `mailbridge_webhook_results_total{result}`; an organisation's endpoint adds `organisation` (its ID).
    func webhookResult(_ outcome: WebhookAttemptOutcomeName, organisation: String? = nil) {
        let dimensions = (organisation.map { [("organisation", $0)] } ?? []) + [("result", outcome.rawValue)]
        CoreMetrics.Counter(label: "mailbridge_webhook_results_total", dimensions: dimensions, factory: factory)
            .increment()
    }
}

/// The result label of ``GatewayMetrics/webhookResult(_:)``.
enum WebhookAttemptOutcomeName: String {
    case delivered
    case retry
    case failed
}
