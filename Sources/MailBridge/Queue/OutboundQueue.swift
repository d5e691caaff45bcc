public import Foundation
public import Logging
import NIOCore
public import ServiceLifecycle

/// The single outbound funnel (STYLE.md §11, §13): one loop that takes due items from the ``OutboxStore`` and
/// delivers them, at most ``Configuration/concurrency`` at a time.
///
/// The loop wakes on a kick (``kick()``; an `AsyncStream<Void>` buffering the newest one, so kicks never pile up
/// and never block), on a timer for the next due item, or when a delivery finishes. Every result is written to
/// the store before the item leaves the in-flight set, so a restarted queue on the same store continues where
/// this one stopped: delivered items are never picked again, items in flight at a crash are retried
/// (at-least-once; see ``OutboxStore``). All traffic goes to one smarthost, so there is no per-domain busy set.
///
/// Graceful shutdown stops taking new items and waits for the deliveries in flight (each bounded by the
/// client's delivery timeout). Cancelling the task instead abandons them without recording anything.
///
/// Security: handles the final outbound bytes but never looks into them; logs carry item ids and result codes
/// only.
///
/// ```swift
/// let queue = OutboundQueue(store: store, deliverer: SMTPClient(configuration: smarthost), policy: RetryPolicy())
/// let group = ServiceGroup(configuration: .init(services: [queue], gracefulShutdownSignals: [.sigterm], logger: logger))
/// try await group.run()
/// // after committing an outbox row:
/// queue.kick()
/// ```
public final class OutboundQueue: Service, Sendable {
    public struct Configuration: Hashable, Sendable {
        /// Deliveries at the same time.
        public var concurrency: Int
        /// The store is asked again after this long even without a kick (a safety net; kicks are the norm).
        public var pollInterval: Duration

        public init(concurrency: Int = 4, pollInterval: Duration = .seconds(60)) {
            precondition(concurrency >= 1 && pollInterval > .zero)
            self.concurrency = concurrency
            self.pollInterval = pollInterval
        }
    }

    private enum Event: Sendable {
        case finished(QueueItemID)
        case kicked
        case kicksEnded
        case timerFired
    }

    public let configuration: Configuration
    private let store: any OutboxStore
    private let deliverer: any MessageDeliverer
    private let policy: RetryPolicy
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let kicks: AsyncStream<Void>
    private let kickContinuation: AsyncStream<Void>.Continuation

    public init(
        store: any OutboxStore, deliverer: any MessageDeliverer, policy: RetryPolicy,
        configuration: Configuration = .init(), now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "mailbridge.queue")
    ) {
        self.store = store
        self.deliverer = deliverer
        self.policy = policy
        self.configuration = configuration
        self.now = now
        self.logger = logger
        (kicks, kickContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Wakes the loop: call after committing a new outbox row. Never blocks; several kicks fold into one.
    public func kick() {
        kickContinuation.yield()
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: {
            self.kickContinuation.finish()
        }
    }

    private func loop() async {
        await withTaskGroup(of: Event.self) { group in
            var inFlight: Set<QueueItemID> = []
            var waitingForKick = false
            var timerDue: Date?
            var accepting = true
            logger.info("outbound queue started", metadata: ["queue.concurrency": "\(configuration.concurrency)"])

            while true {
                if accepting && !Task.isCancelled {
                    await launchDue(into: &group, inFlight: &inFlight)
                    if !waitingForKick {
                        waitingForKick = true
                        let kicks = self.kicks
                        group.addTask {
                            var iterator = kicks.makeAsyncIterator()
                            return await iterator.next() == nil ? .kicksEnded : .kicked
                        }
                    }
                    let wake = await nextWake()
                    if timerDue.map({ wake < $0 }) ?? true {
                        timerDue = wake
                        let seconds = max(0, wake.timeIntervalSince(now()))
                        group.addTask {
                            try? await Task.sleep(for: .nanoseconds(Int64(seconds * 1e9)))
                            return .timerFired
                        }
                    }
                } else if inFlight.isEmpty {
                    group.cancelAll()  // only the timer is left
                    break
                }

                guard let event = await group.next() else { break }
                switch event {
                case .finished(let id): inFlight.remove(id)
                case .kicked: waitingForKick = false
                case .kicksEnded: accepting = false
                case .timerFired: timerDue = nil
                }
            }
            logger.info("outbound queue stopped")
        }
    }

    /// When to look again: the next due item, but no later than the poll interval.
    private func nextWake() async -> Date {
        let poll = now().addingTimeInterval(RetryPolicy.seconds(configuration.pollInterval))
        do {
            guard let next = try await store.nextAttemptDate() else { return poll }
            return min(next, poll)
        } catch {
            logger.error("outbox store unavailable", metadata: ["queue.error": "\(type(of: error))"])
            return poll
        }
    }

    private func launchDue(into group: inout TaskGroup<Event>, inFlight: inout Set<QueueItemID>) async {
        let free = configuration.concurrency - inFlight.count
        guard free > 0 else { return }
        let items: [QueuedMail]
        do {
            items = try await store.dueItems(now: now(), limit: free + inFlight.count)
        } catch {
            logger.error("outbox store unavailable", metadata: ["queue.error": "\(type(of: error))"])
            return
        }
        let busy = inFlight
        for item in items.filter({ !busy.contains($0.id) }).prefix(free) {
            inFlight.insert(item.id)
            group.addTask {
                await self.deliver(item)
                return .finished(item.id)
            }
        }
    }

    /// One attempt and its record. Runs as a child task; the store serialises its own writes.
    private func deliver(_ item: QueuedMail) async {
        let result = await deliverer.deliver(item.envelope, message: item.message)
        var metadata: Logger.Metadata = ["queue.item": "\(item.id)", "queue.result": "\(result)"]
        do {
            switch result {
            case .delivered:
                try await store.markDelivered(item.id)
            case .permanentFailure(let failure):
                try await store.markFailed(item.id, reason: failure)
            case .temporaryFailure(let failure):
                if failure.code == .cancelled {
                    logger.notice("delivery abandoned; the item stays due", metadata: metadata)
                    return
                }
                var generator = SystemRandomNumberGenerator()
                switch policy.decision(
                    afterAttempts: item.attempts + 1, queuedAt: item.queuedAt, now: now(), using: &generator)
                {
                case .retry(let at):
                    try await store.markRetry(item.id, nextAttempt: at, lastError: failure)
                case .giveUp(let reason):
                    metadata["queue.gaveUp"] = "\(reason.rawValue)"
                    try await store.markFailed(item.id, reason: failure)
                }
            }
            logger.info("delivery recorded", metadata: metadata)
        } catch {
            // Not recorded: the item stays due and is sent again (at-least-once).
            metadata["queue.error"] = "\(type(of: error))"
            logger.error("could not record delivery result", metadata: metadata)
        }
    }
}
