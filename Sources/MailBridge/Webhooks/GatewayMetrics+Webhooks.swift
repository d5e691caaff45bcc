// Security: a counter with a fixed label (the attempt's result); no event, thread or URL is a label value.

import CoreMetrics

extension GatewayMetrics {
    /// A webhook attempt ended (issue 29): `delivered`, `retry` or `failed` (given up), as
    /// `mailbridge_webhook_results_total{result}`.
    func webhookResult(_ outcome: WebhookAttemptOutcomeName) {
        CoreMetrics.Counter(label: "mailbridge_webhook_results_total", dimensions: [("result", outcome.rawValue)],
                            factory: factory).increment()
    }
}

/// The result label of ``GatewayMetrics/webhookResult(_:)``.
enum WebhookAttemptOutcomeName: String {
    case delivered
    case retry
    case failed
}
