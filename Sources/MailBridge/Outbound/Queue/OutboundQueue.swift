public import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import ServiceLifecycle

/// The single outbound funnel (STYLE.md §11, §13): one loop that takes due items from the ``OutboxStore`` and
/// delivers them, at most ``Configuration/concurrency`` at a time.
///
/// The loop wakes on a kick (``kick()``; an `AsyncStream<Void>` buffering the newest one, so kicks never pile up
/// and never block), on a timer for the next due item, or when a delivery finishes. Every result is written to
/// the store before the item leaves the in-flight set, so a restarted queue on the same store continues where
/// this one stopped: delivered items are never picked again, items in flight at a crash are retried
/// (at-least-once; see ``OutboxStore``). If the store cannot record a result (after a short retry of the write),
/// the item stays due there but is held back in memory for the policy's initial delay, so a failing store does
/// not become a resend storm. All traffic goes to one smarthost, so there is no per-domain busy set.
///
/// Graceful shutdown stops taking new items and waits for the deliveries in flight (each bounded by the
/// client's delivery timeout). Cancelling the task instead abandons them without recording anything.
///
/// Security: handles the final outbound bytes but never looks into them; logs carry item ids and result codes
/// only.
///
/// ```swift
/// let queue = OutboundQueue(store: store, deliverer: SMTPClient(configuration: smarthost), policy: RetryPolicy())
/// let group = ServiceGroup(
///     configuration: .init(services: [queue], gracefulShutdownSignals: [.sigterm], logger: logger))
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
        /// A delivery ended; if its result could not be stored, the item is held back until the date.
        case finished(QueueItemID, holdUntil: Date?)
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
    private let journal: DeliveryJournal?
    private let kicks: AsyncStream<Void>
    private let kickContinuation: AsyncStream<Void>.Continuation

    public init(
        store: any OutboxStore, deliverer: any MessageDeliverer, policy: RetryPolicy,
        configuration: Configuration = .init(), now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "mailbridge.queue"), journal: DeliveryJournal? = nil
    ) {
        self.store = store
        self.journal = journal
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
            // Items whose result the store could not record: still due there, but not sent again before the date,
            // so a broken store cannot turn into a resend storm.
            var held: [QueueItemID: Date] = [:]
            var waitingForKick = false
            var timerDue: Date?
            var accepting = true
            logger.info("outbound queue started", metadata: ["queue.concurrency": "\(configuration.concurrency)"])

            while true {
                if accepting && !Task.isCancelled {
                    let current = now()
                    held = held.filter { $0.value > current }
                    await launchDue(into: &group, inFlight: &inFlight, held: held)
                    if !waitingForKick {
                        waitingForKick = true
                        let kicks = self.kicks
                        group.addTask {
                            var iterator = kicks.makeAsyncIterator()
                            return await iterator.next() == nil ? .kicksEnded : .kicked
                        }
                    }
                    var wake = await nextWake(inFlight: !inFlight.isEmpty || !held.isEmpty)
                    if let release = held.values.min() { wake = min(wake, release) }
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
                case .finished(let id, let holdUntil):
                    inFlight.remove(id)
                    if let holdUntil { held[id] = holdUntil }
                    // Every accepted delivery is in the store now: the journal's lines are no longer needed.
                    if inFlight.isEmpty && held.isEmpty { journal?.empty() }
                case .kicked: waitingForKick = false
                case .kicksEnded: accepting = false
                case .timerFired: timerDue = nil
                }
            }
            logger.info("outbound queue stopped")
        }
    }

    /// When to look again: the next due item, but no later than the poll interval. A date that is already past
    /// belongs to an item in flight (everything else due was just launched, or waits for a free slot, and a
    /// finishing delivery wakes the loop), so it must not arm an immediate timer: that would spin.
    private func nextWake(inFlight: Bool) async -> Date {
        let current = now()
        let poll = current.addingTimeInterval(configuration.pollInterval.timeInterval)
        do {
            guard let next = try await store.nextAttemptDate() else { return poll }
            if next > current { return min(next, poll) }
            return inFlight ? poll : min(current.addingTimeInterval(1), poll)
        } catch {
            logger.error("outbox store unavailable", metadata: ["queue.error": "\(type(of: error))"])
            return poll
        }
    }

    private func launchDue(
        into group: inout TaskGroup<Event>, inFlight: inout Set<QueueItemID>, held: [QueueItemID: Date]
    ) async {
        let free = configuration.concurrency - inFlight.count
        guard free > 0 else { return }
        let items: [QueuedMail]
        do {
            items = try await store.dueItems(now: now(), limit: free + inFlight.count + held.count)
        } catch {
            logger.error("outbox store unavailable", metadata: ["queue.error": "\(type(of: error))"])
            return
        }
        let busy = inFlight.union(held.keys)
        for item in items.filter({ !busy.contains($0.id) }).prefix(free) {
            inFlight.insert(item.id)
            group.addTask {
                let recorded = await self.deliver(item)
                let hold = self.policy.initialDelay.timeInterval
                return .finished(item.id, holdUntil: recorded ? nil : self.now().addingTimeInterval(hold))
            }
        }
    }

    /// What a delivery under a lease ended with (``deliverRenewingLease(_:every:_:)``).
    private enum Flight: Sendable {
        case delivered(DeliveryResult)
        case leaseLost
        case renewalStopped
    }

    /// Runs `send` while renewing this node's lease on the item every `interval` (issue 21: a delivery slower than
    /// the lease must not let another node claim and send the item as well). When the lease is lost all the same
    /// (the database was unreachable for two renewals), another node may be sending it: the delivery is cancelled,
    /// which ends it before the final dot if it has not got there (the item stays due, and its new holder sends it).
    private func deliverRenewingLease(_ id: QueueItemID, every interval: Duration,
                                      _ send: @escaping @Sendable () async -> DeliveryResult) async -> DeliveryResult {
        await withTaskGroup(of: Flight.self) { group in
            group.addTask { .delivered(await send()) }
            group.addTask {
                while true {
                    do { try await Task.sleep(for: interval) } catch { return .renewalStopped }
                    do {
                        if try await !self.store.renewLease(id, now: self.now()) { return .leaseLost }
                    } catch {
                        self.logger.warning("outbox lease renewal failed", metadata: [
                            "queue.item": "\(id)", "queue.error": "\(type(of: error))",
                        ])
                    }
                }
            }
            var result: DeliveryResult?
            while let flight = await group.next() {
                switch flight {
                case .delivered(let delivered):
                    result = delivered
                    group.cancelAll()
                case .leaseLost:
                    logger.warning("outbox lease lost during delivery; abandoning the delivery",
                                   metadata: ["queue.item": "\(id)"])
                    group.cancelAll()
                case .renewalStopped:
                    break
                }
            }
            return result ?? .temporaryFailure(DeliveryFailure(.cancelled, step: .connect))
        }
    }

    /// One attempt and its record. Runs as a child task; the store serialises its own writes. Returns false if
    /// the result could not be recorded (the item then stays due in the store: at-least-once).
    private func deliver(_ item: QueuedMail) async -> Bool {
        // The smarthost's 250 is recorded the moment it is parsed, before QUIT (issue 18: a kill -9 between the
        // 250 and the outbox update resent the mail): first the journal's plain write(2), on the event loop in the
        // read that brought the 250 (survives kill -9, not a power loss), then the store's transaction, whose
        // commit is fsynced (synchronous=FULL) and makes it survive a power loss too.
        let recordedAtAcceptance = NIOLockedValueBox(false)
        let journal = self.journal
        let id = item.id
        let send: @Sendable () async -> DeliveryResult = {
            await self.deliverer.deliver(item.envelope, message: item.message, recordAcceptance: {
                journal?.record(id.rawValue)
            }, onAccepted: {
                if (try? await self.store.markDelivered(item.id)) != nil {
                    recordedAtAcceptance.withLockedValue { $0 = true }
                }
            })
        }
        let result = if let interval = store.leaseRenewalInterval {
            await deliverRenewingLease(item.id, every: interval, send)
        } else {
            await send()
        }
        var metadata: Logger.Metadata = ["queue.item": "\(item.id)", "queue.result": "\(result)"]
        let record: @Sendable () async throws -> Void
        switch result {
        case .delivered:
            if recordedAtAcceptance.withLockedValue({ $0 }) {
                logger.info("delivery recorded", metadata: metadata)
                return true
            }
            record = { try await self.store.markDelivered(item.id) }
        case .permanentFailure(let failure):
            record = { try await self.store.markFailed(item.id, reason: failure) }
        case .temporaryFailure(let failure):
            if failure.code == .cancelled {
                logger.notice("delivery abandoned; the item stays due", metadata: metadata)
                return true
            }
            var generator = SystemRandomNumberGenerator()
            switch policy.decision(
                afterAttempts: item.attempts + 1, queuedAt: item.queuedAt, now: now(), using: &generator)
            {
            case .retry(let at):
                record = { try await self.store.markRetry(item.id, nextAttempt: at, lastError: failure) }
            case .giveUp(let reason):
                metadata["queue.gaveUp"] = "\(reason.rawValue)"
                record = { try await self.store.markFailed(item.id, reason: failure) }
            }
        }
        // A short retry of the write rides out a busy or briefly failing store without sending again.
        for pause in [Duration.zero, .milliseconds(50), .milliseconds(250)] {
            if pause > .zero { try? await Task.sleep(for: pause) }
            do {
                try await record()
                logger.info("delivery recorded", metadata: metadata)
                return true
            } catch {
                metadata["queue.error"] = "\(type(of: error))"
            }
        }
        logger.error("could not record delivery result; holding the item back", metadata: metadata)
        return false
    }
}
