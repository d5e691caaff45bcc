// Security: counts threads by how long they have waited for an answer, from an index of timestamps; decrypts
// nothing and exports only counts with a fixed label (the configured hours).

public import Foundation
public import Logging
public import ServiceLifecycle
public import ThreadStore

/// Keeps the gauges `mailbridge_threads_waiting{over_hours="N"}` current: for each `[metrics]
/// waiting-thresholds-hours` value N, the threads (not closed) whose oldest unanswered message arrived more than
/// N hours ago. Refreshed every `interval` (one indexed count per threshold), so a scrape never waits for the
/// store.
///
/// ```swift
/// let monitor = WaitingThreadsMonitor(gauges: ThreadStoreGauges(store), metrics: metrics, thresholdsHours: [24, 48],
///                                     logger: logger)
/// ```
public final class WaitingThreadsMonitor: Service, Sendable {
    /// The counts, on either engine.
    let gauges: any GaugeStore
    let metrics: GatewayMetrics
    let thresholdsHours: [Int]
    let interval: Duration
    let logger: Logger
    let now: @Sendable () -> Date
    /// With `[[organisation]]` (issue 29) the gauges carry the organisation as a label, one series per
    /// organisation and threshold (threads of a field no organisation owns are not counted).
    let organisations: OrganisationDirectory

    public init(gauges: any GaugeStore, metrics: GatewayMetrics, thresholdsHours: [Int],
                interval: Duration = .seconds(60), logger: Logger, organisations: OrganisationDirectory = .implicit,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.organisations = organisations
        self.gauges = gauges
        self.metrics = metrics
        self.thresholdsHours = thresholdsHours
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        await runPeriodically(every: interval) { await self.refresh() }
    }

    /// Counts once and sets the gauges; returns the counts in threshold order (with organisations: of every
    /// organisation together; nil if the store failed).
    @discardableResult
    public func refresh() async -> [Int]? {
        let time = now()
        let cutoffs = thresholdsHours.map { time.addingTimeInterval(-TimeInterval($0) * 3600) }
        guard organisations.isImplicit else { return await refreshPerOrganisation(cutoffs) }
        do {
            let counts = try await gauges.waitingThreadCounts(before: cutoffs)
            for (hours, count) in zip(thresholdsHours, counts) {
                metrics.threadsWaiting(overHours: hours, count: count)
            }
            return counts
        } catch {
            logger.error("waiting-thread count failed", metadata: ["error": "\(type(of: error))"])
            return nil
        }
    }

    private func refreshPerOrganisation(_ cutoffs: [Date]) async -> [Int]? {
        do {
            let counts = try await gauges.waitingThreadCountsByField(before: cutoffs)
            var totals: [Int] = []
            for (hours, perField) in zip(thresholdsHours, counts) {
                let perOrganisation = organisations.totals(perField)
                for (organisation, count) in perOrganisation {
                    metrics.threadsWaiting(overHours: hours, count: count, organisation: organisation.id.rawValue)
                }
                totals.append(perOrganisation.reduce(0) { $0 + $1.count })
            }
            return totals
        } catch {
            logger.error("waiting-thread count failed", metadata: ["error": "\(type(of: error))"])
            return nil
        }
    }
}
