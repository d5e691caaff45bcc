import CoreMetrics

/// The spool's metric: entries that could not be read.
extension GatewayMetrics {
    /// A spool entry could not be read and was moved to `spool/quarantine/`.
    func spoolQuarantined(_ cause: QuarantineCause) {
        CoreMetrics.Counter(label: "mailbridge_spool_quarantined_total",
                            dimensions: [("cause", MetricCatalog.labelValue(cause.rawValue))],
                            factory: factory).increment()
    }
}
