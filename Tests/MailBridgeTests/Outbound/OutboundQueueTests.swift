import Foundation
import Logging
import MailBridge
import MailValues
import NIOCore
import ServiceLifecycle
import Testing

/// The queue loop with the real SMTP client and a real sink; the store is the in-memory test store.
@Suite(.timeLimit(.minutes(2)))
struct OutboundQueueTests {
    static let recipient = try! EmailAddress("team@example.org")
    static let envelope = OutboundEnvelope(reversePath: .null, recipients: [recipient])
    static let fastPolicy = RetryPolicy(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(1), jitter: 0.1, maximumAttempts: 5,
        maximumAge: .seconds(60))

    static func message(_ id: String) -> String {
        "Message-ID: <\(id)@gateway.test>\r\nSubject: notice\r\n\r\nA new reply is waiting.\r\n.\r\n"
    }

    static func client(_ sink: OutboundSink) -> SMTPClient {
        SMTPClient(
            configuration: SMTPClientConfiguration(
                host: "127.0.0.1", port: sink.port, tlsMode: .none, heloName: "gateway.test",
                stepTimeout: .seconds(10), deliveryTimeout: .seconds(30)))
    }

    static func queue(
        _ store: InMemoryOutboxStore, _ sink: OutboundSink, policy: RetryPolicy = fastPolicy, concurrency: Int = 2
    ) -> OutboundQueue {
        OutboundQueue(
            store: store, deliverer: client(sink), policy: policy,
            configuration: .init(concurrency: concurrency, pollInterval: .seconds(5)))
    }

    /// Polls until `condition` holds or the time is up.
    static func eventually(_ timeout: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    /// Message-IDs the sink accepted, in order.
    static func receivedIDs(_ sink: OutboundSink) -> [String] {
        sink.messages().compactMap { data in
            String(decoding: data, as: UTF8.self).split(separator: "\r\n").first { $0.hasPrefix("Message-ID:") }
                .map { String($0.dropFirst("Message-ID: ".count)) }
        }
    }

    @Test func deliversEveryQueuedItemOnceWithConcurrencyCap() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        var ids: [QueueItemID] = []
        for index in 0..<6 { ids.append(await store.add(Self.envelope, message: Self.message("n\(index)"))) }
        let queue = Self.queue(store, sink)
        let task = Task { try await queue.run() }
        queue.kick()
        let done = await Self.eventually {
            for id in ids where await store.state(id) != .delivered { return false }
            return true
        }
        task.cancel()
        _ = try? await task.value
        #expect(done)
        #expect(Set(Self.receivedIDs(sink)) == Set((0..<6).map { "<n\($0)@gateway.test>" }))
        #expect(Self.receivedIDs(sink).count == 6, "each exactly once")
        for id in ids { #expect(await store.deliveredMarks[id] == 1) }
    }

    /// While a delivery is in flight its item is still due in the store; the loop must not spin on it.
    @Test func loopDoesNotSpinWhileDeliveriesAreInFlight() async throws {
        let sink = try OutboundSink.start(.init(dataDelay: 1.5, delayedMessages: 2))
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let first = await store.add(Self.envelope, message: Self.message("slow1"))
        let second = await store.add(Self.envelope, message: Self.message("slow2"))
        let third = await store.add(Self.envelope, message: Self.message("fast3"))
        let queue = Self.queue(store, sink, concurrency: 2)
        let task = Task { try await queue.run() }
        queue.kick()
        let done = await Self.eventually {
            for id in [first, second, third] where await store.state(id) != .delivered { return false }
            return true
        }
        task.cancel()
        _ = try? await task.value
        #expect(done)
        let queries = await store.dueQueries
        #expect(queries < 15, "the store was asked \(queries) times in about 2 seconds")
    }

    @Test func kickWakesTheLoopForNewItems() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let queue = Self.queue(store, sink)
        let task = Task { try await queue.run() }
        try await Task.sleep(for: .milliseconds(200))  // the loop is idle, its timer is 5 s away
        let id = await store.add(Self.envelope, message: Self.message("kicked"))
        queue.kick()
        #expect(await Self.eventually(.seconds(3)) { await store.state(id) == .delivered }, "well before the poll")
        task.cancel()
        _ = try? await task.value
    }

    @Test func temporaryFailureIsRetriedWithBackoff() async throws {
        let sink = try OutboundSink.start(.init(dataReplies: ["451 4.3.0 try again later"]))
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let id = await store.add(Self.envelope, message: Self.message("retry"))
        let queue = Self.queue(store, sink)
        let task = Task { try await queue.run() }
        queue.kick()
        let delivered = await Self.eventually { await store.state(id) == .delivered }
        task.cancel()
        _ = try? await task.value
        #expect(delivered, "the timer woke the loop for the retry; nobody kicked")
        #expect(await store.row(id)?.item.attempts == 2)
        #expect(await store.row(id)?.lastError?.reply == .localError)
        #expect(Self.receivedIDs(sink) == ["<retry@gateway.test>"])
    }

    @Test func permanentFailureIsNotRetried() async throws {
        let sink = try OutboundSink.start(.init(rcptReply: "550 5.1.1 no such user"))
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let id = await store.add(Self.envelope, message: Self.message("perm"))
        let queue = Self.queue(store, sink)
        let task = Task { try await queue.run() }
        queue.kick()
        let failed = await Self.eventually {
            if case .failed = await store.state(id) { return true }
            return false
        }
        try await Task.sleep(for: .milliseconds(500))
        task.cancel()
        _ = try? await task.value
        #expect(failed)
        #expect(await store.row(id)?.item.attempts == 1)
        #expect(sink.events("rcpt").count == 1, "tried once")
    }

    @Test func givesUpAtMaximumAttempts() async throws {
        let sink = try OutboundSink.start(.init(rcptReply: "450 4.2.0 mailbox busy"))
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let id = await store.add(Self.envelope, message: Self.message("busy"))
        let policy = RetryPolicy(
            initialDelay: .milliseconds(50), maximumDelay: .milliseconds(100), jitter: 0, maximumAttempts: 3,
            maximumAge: .seconds(60))
        let queue = Self.queue(store, sink, policy: policy)
        let task = Task { try await queue.run() }
        queue.kick()
        let failed = await Self.eventually {
            if case .failed = await store.state(id) { return true }
            return false
        }
        task.cancel()
        _ = try? await task.value
        #expect(failed)
        #expect(await store.row(id)?.item.attempts == 3)
        #expect(sink.events("rcpt").count == 3)
    }

    @Test func givesUpAtMaximumAge() async throws {
        let sink = try OutboundSink.start(.init(dataReplies: ["451 4.3.0 try again later"]))
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let id = await store.add(Self.envelope, message: Self.message("old"), at: Date().addingTimeInterval(-120))
        let queue = Self.queue(store, sink)  // maximum age 60 s
        let task = Task { try await queue.run() }
        queue.kick()
        let failed = await Self.eventually {
            if case .failed = await store.state(id) { return true }
            return false
        }
        task.cancel()
        _ = try? await task.value
        #expect(failed)
        #expect(await store.row(id)?.lastError?.reply == .localError)
        #expect(sink.events("data").count == 1, "one attempt, then given up")
    }

    /// Restart semantics: a crash (task cancelled) while a delivery is in flight, then a new queue on the same
    /// store. Delivered items are never sent again; the in-flight item is sent again (at-least-once) and the
    /// receiver sees the same Message-ID twice, which is what lets it deduplicate.
    @Test func restartLosesNothingAndNeverResendsDelivered() async throws {
        let sink = try OutboundSink.start(.init(dataDelay: 20, delayedMessages: 1))
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let done = await store.add(Self.envelope, message: Self.message("already"))
        try await store.markDelivered(done)
        let inFlight = await store.add(Self.envelope, message: Self.message("inflight"))

        let first = Self.queue(store, sink, concurrency: 1)
        let firstRun = Task { try await first.run() }
        first.kick()
        // The sink has the message and holds back its 250: the delivery is in flight.
        #expect(await Self.eventually { sink.events("data").count == 1 })
        let waiting = await store.add(Self.envelope, message: Self.message("waiting"))
        firstRun.cancel()  // the process "dies"
        _ = try? await firstRun.value
        #expect(await store.state(inFlight) == .pending, "no result was recorded for the abandoned attempt")
        #expect(await store.state(waiting) == .pending)

        let second = Self.queue(store, sink)
        let secondRun = Task { try await second.run() }
        second.kick()
        let finished = await Self.eventually {
            let first = await store.state(inFlight)
            let second = await store.state(waiting)
            return first == .delivered && second == .delivered
        }
        secondRun.cancel()
        _ = try? await secondRun.value
        #expect(finished)
        let ids = Self.receivedIDs(sink)
        #expect(!ids.contains("<already@gateway.test>"), "a delivered item is never picked again")
        #expect(ids.filter { $0 == "<inflight@gateway.test>" }.count == 2, "at-least-once: same Message-ID twice")
        #expect(ids.filter { $0 == "<waiting@gateway.test>" }.count == 1)
        #expect(await store.deliveredMarks[done] == 1)
    }

    /// A store write that fails once is retried: the message is sent once and recorded.
    @Test func briefStoreFailureIsRiddenOut() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let inner = InMemoryOutboxStore()
        let store = ForgetfulOutboxStore(inner: inner, failures: 1)
        let id = await inner.add(Self.envelope, message: Self.message("brief"))
        let queue = OutboundQueue(store: store, deliverer: Self.client(sink), policy: Self.fastPolicy)
        let task = Task { try await queue.run() }
        queue.kick()
        let delivered = await Self.eventually { await inner.state(id) == .delivered }
        task.cancel()
        _ = try? await task.value
        #expect(delivered)
        #expect(Self.receivedIDs(sink) == ["<brief@gateway.test>"])
    }

    /// If the result cannot be recorded at all, the item stays due (never lost) but is held back for the initial
    /// retry delay instead of being resent at once, over and over; then it is sent again (at-least-once).
    @Test func brokenStoreCausesNoResendStorm() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let inner = InMemoryOutboxStore()
        // All writes of the first attempt: the record at acceptance (before QUIT) and the three after it.
        let store = ForgetfulOutboxStore(inner: inner, failures: 4)
        let id = await inner.add(Self.envelope, message: Self.message("held"))
        let policy = RetryPolicy(
            initialDelay: .seconds(1), maximumDelay: .seconds(1), jitter: 0, maximumAge: .seconds(60))
        let queue = OutboundQueue(store: store, deliverer: Self.client(sink), policy: policy)
        let task = Task { try await queue.run() }
        queue.kick()
        #expect(await Self.eventually { Self.receivedIDs(sink).count == 1 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(Self.receivedIDs(sink).count == 1, "held back, not resent at once")
        #expect(await inner.state(id) == .pending, "not lost either")
        let delivered = await Self.eventually { await inner.state(id) == .delivered }
        task.cancel()
        _ = try? await task.value
        #expect(delivered)
        #expect(Self.receivedIDs(sink) == ["<held@gateway.test>", "<held@gateway.test>"], "sent again once")
    }

    @Test func gracefulShutdownFinishesInFlightDeliveries() async throws {
        let sink = try OutboundSink.start(.init(dataDelay: 1, delayedMessages: 1))
        defer { sink.stop() }
        let store = InMemoryOutboxStore()
        let id = await store.add(Self.envelope, message: Self.message("graceful"))
        let queue = Self.queue(store, sink)
        let group = ServiceGroup(
            configuration: .init(services: [queue], logger: .init(label: "test.group")))
        let run = Task { try await group.run() }
        queue.kick()
        #expect(await Self.eventually { sink.events("data").count == 1 })
        await group.triggerGracefulShutdown()
        try await run.value
        #expect(await store.state(id) == .delivered, "the in-flight delivery completed and was recorded")
    }
}

/// Fails the first `failures` calls of `markDelivered`, as a store would whose disk is full for a while.
actor ForgetfulOutboxStore: OutboxStore {
    struct WriteFailed: Error {}
    let inner: InMemoryOutboxStore
    private var failures: Int

    init(inner: InMemoryOutboxStore, failures: Int) {
        self.inner = inner
        self.failures = failures
    }

    func dueItems(now: Date, limit: Int) async throws -> [QueuedMail] {
        try await inner.dueItems(now: now, limit: limit)
    }
    func nextAttemptDate() async throws -> Date? { try await inner.nextAttemptDate() }
    func markDelivered(_ id: QueueItemID) async throws {
        if failures > 0 {
            failures -= 1
            throw WriteFailed()
        }
        try await inner.markDelivered(id)
    }
    func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws {
        try await inner.markRetry(id, nextAttempt: nextAttempt, lastError: lastError)
    }
    func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws {
        try await inner.markFailed(id, reason: reason)
    }
}
