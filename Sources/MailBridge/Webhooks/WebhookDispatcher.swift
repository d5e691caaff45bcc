// Security: moves webhook events from the store's outbox to the platform. It handles IDs, type codes, times and
// HTTP status codes only, and logs those (never a URL's query, a header or a secret).

public import Foundation
public import Logging
public import ServiceLifecycle
import NIOConcurrencyHelpers
public import ThreadStore

/// The webhook sender loop (issue 29), one per node: leases up to ``concurrency`` due events from the store's webhook
/// outbox, sends them at once, and records each outcome. At least once: an event is settled only after the answer,
/// so a process killed mid-attempt leaves the lease to run out and the event is sent again with the same
/// `webhook-id`, by this node after its restart or by another node.
///
/// ```swift
/// let dispatcher = WebhookDispatcher(store: stores.webhooks, sender: sender, owner: "node-a",
///                                    policy: WebhookRetryPolicy(giveUpAfter: .seconds(72 * 3600)), logger: logger)
/// try await ServiceGroup(services: [dispatcher], logger: logger).run()
/// ```
public final class WebhookDispatcher: Service, Sendable {
    let store: any WebhookEventStore
    /// Where each event goes, by its thread's field (issue 29): the first route that carries it.
    let routes: [WebhookRoute]
    /// The lease owner: the node name (PostgreSQL) or `local` (SQLite).
    let owner: String
    let concurrency: Int
    let pollInterval: Duration
    let logger: Logger
    let metrics: GatewayMetrics?
    let now: @Sendable () -> Date
    /// Whether the last lease failed (a store that is down is logged once, not every second).
    private let storeFailing = NIOLockedValueBox(false)

    /// One route for every event.
    public convenience init(store: any WebhookEventStore, sender: WebhookSender, owner: String,
                            policy: WebhookRetryPolicy, concurrency: Int = 4, pollInterval: Duration = .seconds(1),
                            logger: Logger, metrics: GatewayMetrics? = nil,
                            now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(store: store, routes: [WebhookRoute(fields: nil, sender: sender, policy: policy)], owner: owner,
                  concurrency: concurrency, pollInterval: pollInterval, logger: logger, metrics: metrics, now: now)
    }

    /// `routes`: each organisation's endpoint with its fields; an event no route carries is given up at once
    /// (``WebhookAttemptProblem/noEndpoint``) without being sent anywhere.
    public init(store: any WebhookEventStore, routes: [WebhookRoute], owner: String, concurrency: Int = 4,
                pollInterval: Duration = .seconds(1), logger: Logger, metrics: GatewayMetrics? = nil,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.routes = routes
        self.owner = owner
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
        self.logger = logger
        self.metrics = metrics
        self.now = now
    }

    /// How long a lease lasts: the attempt's timeout twice over and half a minute, so a live attempt is never
    /// taken over, and a dead one is taken over soon.
    var lease: TimeInterval { 2 * (routes.map(\.sender.timeout.timeInterval).max() ?? 0) + 30 }

    public func run() async throws {
        // Old events go first, so that a sender started after a long pause does not send them (maintenance prunes
        // hourly on every node after that).
        await prune()
        await runPeriodically(every: pollInterval) {
            // A full batch: go on at once, there may be more due.
            while await self.runOnce() == self.concurrency, !Task.isCancelled {}
        }
        await shutdown()
    }

    /// Closes the sender's connections (``run()`` does at its end; a caller of ``runOnce()`` does when done).
    public func shutdown() async {
        for route in routes {
            do {
                try await route.sender.shutdown()
            } catch {
                logger.debug("webhook connections closed with an error", metadata: ["error": "\(type(of: error))"])
            }
        }
    }

    func prune() async {
        do {
            let pruned = try await store.pruneWebhookEvents(before: now().addingTimeInterval(-WebhookEvent.keptFor))
            if pruned > 0 { logger.info("webhook events pruned", metadata: ["count": "\(pruned)"]) }
        } catch {
            logger.warning("webhook events could not be pruned", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// One batch: leases up to ``concurrency`` due events, sends them at once, records the outcomes. Returns how
    /// many were leased (0 when the store failed; logged once until it works again, tried next time). One attempt
    /// each per lease, all started at once, so every attempt ends (its timeout) well within its lease.
    @discardableResult
    public func runOnce() async -> Int {
        let due: [WebhookEvent]
        do {
            due = try await store.leaseDueWebhookEvents(owner: owner, now: now(), lease: lease, limit: concurrency)
            if storeFailing.exchange(false) {
                logger.notice("webhook events can be read again")
            }
        } catch {
            if !storeFailing.exchange(true) {
                logger.warning("webhook events could not be read", metadata: ["error": "\(type(of: error))"])
            }
            return 0
        }
        guard !due.isEmpty else { return 0 }
        for route in routes { route.sender.refreshSecrets(logger: logger) }
        await withTaskGroup(of: Void.self) { group in
            for event in due { group.addTask { await self.attempt(event) } }
        }
        return due.count
    }

    /// Sends `event` once on its route and records the outcome; an event without a route is given up unsent.
    func attempt(_ event: WebhookEvent) async {
        let outcome: WebhookAttemptOutcome
        let route = routes.first { $0.carries(event) }
        if let route {
            let result = await route.sender.send(event, at: now())
            if result.isDelivered {
                outcome = .delivered(status: result.storedStatus)
            } else {
                let retry = route.policy.nextAttempt(afterAttempts: event.attempts, occurredAt: event.occurredAt,
                                                     now: now())
                outcome = .failed(status: result.storedStatus, retryAt: retry)
            }
        } else {
            outcome = .failed(status: WebhookAttemptProblem.noEndpoint.rawValue, retryAt: nil)
        }
        var metadata: Logger.Metadata = ["event": "\(event.id)", "type": "\(event.type)",
                                         "attempt": "\(event.attempts)", "status": "\(outcome.status)"]
        do {
            let settled = try await store.settleWebhookAttempt(event.id, owner: owner, outcome: outcome, now: now())
            if !settled { metadata["lease"] = "lost" }
        } catch {
            metadata["store"] = "\(type(of: error))"
        }
        switch outcome {
        case .delivered:
            metrics?.webhookResult(.delivered, organisation: route?.organisation)
            logger.debug("webhook delivered", metadata: metadata)
        case .failed(_, .some):
            metrics?.webhookResult(.retry, organisation: route?.organisation)
            logger.info("webhook attempt failed", metadata: metadata)
        case .failed(_, .none):
            metrics?.webhookResult(.failed, organisation: route?.organisation)
            logger.warning("webhook event given up", metadata: metadata)
        }
    }
}
