public import Logging
import MailValues
import NIOConcurrencyHelpers
import PGPShim
public import ServiceLifecycle

/// Feeds spooled messages through the ``Pipeline``, exactly once: a message leaves the spool only after the
/// pipeline committed its outcome. A crash between the commit and the removal re-runs the message, and the store
/// recognises it (same Message-ID and content → `duplicate`; a redirect is rate-limited by then).
///
/// Up to `concurrency` messages are processed at once (the gateway uses the PGP context pool size, so decryption,
/// the slow step, runs in parallel). Messages with the same envelope sender form one lane and are processed one
/// after the other in spool order, so one client's messages reach its thread in the order they arrived, and its
/// redirect rate limit sees them in order. Different senders never share state except in the store, whose write
/// transactions are serialized: the thread lookup and the insert of `importMessage(_:into: .client(…))` happen in
/// one transaction, so even two messages of one new client on two lanes cannot create two threads.
///
/// Memory: the pipeline holds a message, its parse, the decrypted text and the sealed copies at once (about ten
/// times the message size for a large encrypted attachment), so messages of ``largeMessageBytes`` or more are
/// processed one at a time whatever the concurrency; small ones still run in parallel beside them.
public final class PipelineRunner: Service, Sendable {
    let spool: SpoolIntake
    public let pipeline: Pipeline
    let logger: Logger
    let pollInterval: Duration
    let onQuarantine: @Sendable (QuarantineCause) -> Void
    /// Runs after a large message (``largeMessageBytes``) was processed, with no other large one in flight.
    let afterLargeMessage: @Sendable () -> Void
    /// After this many failed attempts a message is held: left in the spool (nothing is lost) but not tried
    /// again until the next start, so one poison message cannot keep the runner busy.
    let maximumAttempts: Int
    /// Most messages processed at once (at least 1).
    let concurrency: Int
    /// Messages at least this large (spooled octets) wait for ``largeMessages``.
    public static let largeMessageBytes = 1024 * 1024
    private let largeMessages = ExclusiveGate()
    private let wake = WakeSignal()
    private let failures = NIOLockedValueBox<[QueueID: Int]>([:])
    /// Messages whose last attempt failed transiently (issue 28): how often in a row, and not before when.
    private let deferred = NIOLockedValueBox<[QueueID: (count: Int, until: ContinuousClock.Instant)]>([:])
    let deferral = TransientDeferral()
    /// Transient failures of a message in a row (its deferrals) before an unfinished gpg run is judged: the third
    /// attempt, 15 s after the first with ``TransientDeferral``'s 5 s and 10 s.
    static let deferralsBeforeJudging = 2

    /// Failures that are not the message's fault and are tried again without holding it (``EngineRetry/
    /// isTransient(_:)``; on PostgreSQL also the database being away).
    let isTransient: @Sendable (any Error) -> Bool
    /// Set while the shared spool cannot be reached; when it is back, deferred messages are tried at once.
    private let mirrorAway = NIOLockedValueBox(false)
    /// Quarantined entries whose shared copy could not be released yet (tried again each round).
    private let pendingReleases = NIOLockedValueBox<Set<QueueID>>([])

    /// Mail the pipeline queues (redirects, notices) wakes the outbound queue through the pipeline's ``Outbox``.
    public init(spool: SpoolIntake, pipeline: Pipeline, logger: Logger, pollInterval: Duration = .seconds(5),
                maximumAttempts: Int = 10, concurrency: Int = 1,
                isTransient: @escaping @Sendable (any Error) -> Bool = EngineRetry.isTransient,
                onQuarantine: @escaping @Sendable (QuarantineCause) -> Void = { _ in },
                afterLargeMessage: @escaping @Sendable () -> Void = {}) {
        self.isTransient = isTransient
        self.onQuarantine = onQuarantine
        self.afterLargeMessage = afterLargeMessage
        self.maximumAttempts = maximumAttempts
        self.concurrency = max(1, concurrency)
        self.spool = spool
        self.pipeline = pipeline
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// Called after the SMTP listener (or the IMAP fetcher) spooled a message.
    public func kick() {
        Task { await wake.signal() }
    }

    /// Spool recovery (``SpoolIntake/recover()``) is not done here: it deletes half-received files, so it must
    /// finish before any listener or fetcher can write one (``Gateway/start(_:logger:)`` runs it first).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let mirror = self.spool.mirror {
                    // The hold on this node's messages in the shared spool, renewed while the runner runs, also
                    // during a long round.
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: mirror.renewInterval)
                            do { try await mirror.renew() } catch where !Task.isCancelled {
                                self.logger.error("cannot renew this node's hold on the shared spool",
                                                  metadata: ["error": "\(error)"])
                            } catch {}
                        }
                    }
                }
                while !Task.isCancelled {
                    await self.drain()
                    await self.wake.wait(timeout: self.pollInterval)
                }
                group.cancelAll()
            }
        }
    }

    /// Processes everything pending now. A message whose processing throws stays in the spool for the next round.
    public func drain() async {
        var waiting = Set<QueueID>()
        if let mirror = spool.mirror { waiting = await synchronize(mirror) }
        let pending: [InboundMessage]
        do {
            let scan = try spool.scan()
            for entry in scan.quarantined {
                // The name is a queue ID (or a foreign file name in the daemon's own folder), never content.
                logger.error("spool entry quarantined; see `mailbridge spool list`",
                             metadata: ["entry": "\(entry.name)", "cause": "\(entry.cause.rawValue)"])
                onQuarantine(entry.cause)
                // The entry now lives in this node's quarantine, as on one node; the shared copy is let go.
                if let mirror = spool.mirror, let id = QueueID(entry.name) {
                    do { try await mirror.release(id) } catch {
                        pendingReleases.withLockedValue { _ = $0.insert(id) }
                        logger.error("cannot release a quarantined entry from the shared spool; will retry",
                                     metadata: ["entry": "\(entry.name)", "error": "\(error)"])
                    }
                }
            }
            pending = scan.messages.filter { !waiting.contains($0.queueID) }
        } catch {
            logger.error("cannot list the spool", metadata: ["error": "\(error)"])
            return
        }
        let lanes = Self.lanes(pending)
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for lane in lanes {
                if running == concurrency {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.process(lane) }
                running += 1
            }
        }
    }

    /// Brings the working copy in line with the shared spool (``SpoolMirror``): shares what was accepted while it
    /// was away, takes over what stopped nodes held and writes what this node holds but lacks into its spool; then
    /// sorts the entries of `incoming` by where their shared copy is. Returns the entries not to process now:
    /// those another node holds (marked handed over; dropped once that node processed them, taken back if it
    /// gave them up or its copy is unusable). Without an answer from the mirror, the marked entries wait.
    private func synchronize(_ mirror: any SpoolMirror) async -> Set<QueueID> {
        let handedOver = spool.handedOverMarks
        let marked = handedOver.ids()
        do {
            let shared = try await spool.shareUnshared()
            if shared.recorded > 0 || shared.failed > 0 {
                logger.notice("messages accepted while the shared spool was away, shared now",
                              metadata: ["count": "\(shared.recorded)", "refused": "\(shared.failed)"])
            }
            for id in pendingReleases.withLockedValue({ $0 }) {
                try await mirror.release(id)
                pendingReleases.withLockedValue { _ = $0.remove(id) }
            }
            try await mirror.synchronize(spool)
            let local = try spool.incomingIDs()
            let states = try await mirror.locate(local)
            var waiting = Set<QueueID>()
            for id in local {
                switch (states[id], marked.contains(id)) {
                case (.elsewhere?, let known):
                    if !known {
                        try handedOver.mark(id)
                        logger.notice("spooled message taken over by another node; local copy waits",
                                      metadata: ["queue": "\(id)"])
                    }
                    waiting.insert(id)
                case (nil, true):
                    // Handed over, and its row is gone: the other node processed it.
                    try spool.remove(queueID: id)
                    try handedOver.clear(id)
                    failures.withLockedValue { $0[id] = nil }
                    deferred.withLockedValue { $0[id] = nil }
                    logger.notice("spooled message processed by another node; local copy dropped",
                                  metadata: ["queue": "\(id)"])
                case (_, true):
                    try handedOver.clear(id)  // given back, or its shared copy is not trusted: process here
                case (_, false):
                    break
                }
            }
            for id in marked.subtracting(local) { try handedOver.clear(id) }
            if mirrorAway.exchange(false) {
                // The database is back: what waited for it is tried now, not after its deferral.
                deferred.withLockedValue { $0.removeAll() }
                logger.notice("the shared spool is reachable again")
            }
            return waiting
        } catch {
            mirrorAway.withLockedValue { $0 = true }
            logger.error("cannot synchronize with the shared spool; processing the local spool",
                         metadata: ["error": "\(error)"])
            return marked
        }
    }

    /// Splits pending messages into lanes by envelope sender (canonical address; all null senders share one
    /// lane), keeping spool order inside each lane and ordering lanes by their oldest message.
    static func lanes(_ pending: [InboundMessage]) -> [[InboundMessage]] {
        var order: [String] = []
        var lanes: [String: [InboundMessage]] = [:]
        for message in pending {
            let key = message.envelope.reversePath.address?.canonical ?? ""
            if lanes[key] == nil { order.append(key) }
            lanes[key, default: []].append(message)
        }
        return order.map { lanes[$0]! }
    }

    /// Processes one lane in order. A failed message stays in the spool; the lane goes on with the next one.
    private func process(_ lane: [InboundMessage]) async {
        for message in lane where !Task.isCancelled {
            let attempts = failures.withLockedValue { $0[message.queueID, default: 0] }
            guard attempts < maximumAttempts else { continue }
            if let until = deferred.withLockedValue({ $0[message.queueID]?.until }), until > .now { continue }
            let large = message.size >= Self.largeMessageBytes
            if large { await largeMessages.acquire() }
            await attempt(message)
            if large {
                afterLargeMessage()
                await largeMessages.release()
            }
        }
    }

    /// One attempt: the pipeline's commit, then removal from the spool; a failure is counted and logged.
    private func attempt(_ message: InboundMessage) async {
        // The first attempts leave unfinished gpg runs undecided (UnfinishedRuns); a later one judges them.
        let judged = deferred.withLockedValue { ($0[message.queueID]?.count ?? 0) >= Self.deferralsBeforeJudging }
        do {
            _ = try await UnfinishedRuns.$judged.withValue(judged) { try await pipeline.accept(message) }
            // The shared copy first: a crash before the local removal leaves a copy that is processed again and
            // recognised as a repeat, never a shared copy that another node would process later.
            try await spool.mirror?.release(message.queueID)
            try spool.remove(message)
            failures.withLockedValue { $0[message.queueID] = nil }
            deferred.withLockedValue { $0[message.queueID] = nil }
        } catch let error where isTransient(error) {
            // Not a verdict and not this message's fault: kept, tried again later, never held for good.
            let (count, delay) = deferred.withLockedValue { deferred in
                let count = (deferred[message.queueID]?.count ?? 0) + 1
                let delay = deferral.delay(afterFailures: count)
                deferred[message.queueID] = (count: count, until: ContinuousClock.now + delay)
                return (count, delay)
            }
            logger.error("inbound processing failed in the engine; message kept in the spool, will retry",
                         metadata: ["queue": "\(message.queueID)", "attempt": "\(count)", "retry-in": "\(delay)",
                                    "error": "\(error)"])
        } catch {
            let count = failures.withLockedValue { failures in
                failures[message.queueID, default: 0] += 1
                return failures[message.queueID]!
            }
            // Error descriptions of the store, PGPShim and the spool carry no content.
            logger.error(count < maximumAttempts ? "inbound processing failed; will retry"
                                                 : "inbound processing failed repeatedly; message held in the spool",
                         metadata: ["queue": "\(message.queueID)", "attempt": "\(count)", "error": "\(error)"])
        }
    }
}
