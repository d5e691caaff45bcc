import Foundation
import MailBridge
import NIOCore
import TestSupport
import Testing
import ThreadStore

/// Issue 18 §4: the smarthost's 250 is journaled with one plain write before the store's transaction, and a start
/// replays the journal, so a crash between the 250 and the store's record does not send the message again.
@Suite struct DeliveryJournalTests {
    @Test func recordsReplaysOnceAndSkipsATornLine() async throws {
        let path = "/tmp/mb-journal-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let journal = try DeliveryJournal(path: path)
        journal.record("a1")
        journal.record("b2")
        journal.record("a1")
        // A crash in the middle of a write leaves a partial last line; a too-long line is not an ID either.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((String(repeating: "f", count: 70) + "\nc3").utf8))
        try handle.close()
        #expect(try journal.recorded() == ["a1", "b2", "c3"])
        var applied: [String] = []
        try await journal.replay { applied = $0 }
        #expect(applied == ["a1", "b2", "c3"])
        #expect(try journal.recorded().isEmpty, "replayed lines are gone")
        // A failing apply keeps the journal for the next start.
        journal.record("d4")
        await #expect(throws: CancellationError.self) { try await journal.replay { _ in throw CancellationError() } }
        #expect(try journal.recorded() == ["d4"])
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    /// The crash window itself: the smarthost accepted, the journal line was written, and the store's record never
    /// happened (the process "died" in the store write). After the restart's replay the row is delivered and the
    /// queue does not send it again.
    @Test func aJournaledAcceptanceIsNotSentAgainAfterACrash() async throws {
        let folder = "/tmp/mb-journal-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try ThreadStore(at: URL(fileURLWithPath: folder + "/threads.sqlite"), masterKey: .generate())
        defer { try? store.close() }
        let row = try await store.write { tx in
            try tx.enqueueOutbox(NewOutboxItem(thread: nil, kind: .redirectReply,
                                               recipient: try ClientAddress("client@example.net"),
                                               payload: Array("Subject: t\r\n\r\nx\r\n".utf8), notBefore: Date()))
        }
        let journalPath = folder + "/" + DeliveryJournal.fileName
        let deliverer = CountingDeliverer()

        // First life: the store write after the 250 never returns (the crash).
        let crashing = OutboundQueue(store: StallingDeliveredOutbox(ThreadStoreOutbox(store: store)),
                                     deliverer: deliverer, policy: RetryPolicy(),
                                     journal: try DeliveryJournal(path: journalPath))
        let first = Task { try await crashing.run() }
        crashing.kick()
        #expect(await OutboundQueueTests.eventually(.seconds(10)) { await deliverer.count == 1 })
        first.cancel()
        #expect(try await store.read { try $0.dueOutboxItems(now: Date(), limit: 10) }.map(\.id) == [row],
                "the store never recorded the delivery")

        // Restart: the replay marks it delivered before any queue runs; the new queue has nothing to send.
        let journal = try DeliveryJournal(path: journalPath)
        try await journal.replay { ids in
            _ = try await store.write { tx in try ids.filter { try tx.markOutboxDeliveredIfPresent($0) } }
        }
        #expect(try await store.read { try $0.dueOutboxItems(now: Date(), limit: 10) }.isEmpty)
        let second = OutboundQueue(store: ThreadStoreOutbox(store: store), deliverer: deliverer, policy: RetryPolicy(),
                                   journal: journal)
        let running = Task { try await second.run() }
        second.kick()
        try await Task.sleep(for: .milliseconds(500))
        running.cancel()
        #expect(await deliverer.count == 1, "sent once, not again after the restart")
    }
}

extension DeliveryJournalTests {
    /// The order over real SMTP and a real store: when the queue's outbox update starts, the journal already holds
    /// the row. The scripted server accepts the message and never answers QUIT, so nothing but the 250 itself can
    /// have triggered the line.
    @Test(.timeLimit(.minutes(2)))
    func theJournalLineIsWrittenBeforeTheOutboxUpdate() async throws {
        let folder = "/tmp/mb-journal-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try ThreadStore(at: URL(fileURLWithPath: folder + "/threads.sqlite"), masterKey: .generate())
        defer { try? store.close() }
        let row = try await store.write { tx in
            try tx.enqueueOutbox(NewOutboxItem(thread: nil, kind: .redirectReply,
                                               recipient: try ClientAddress("client@example.net"),
                                               payload: Array("Subject: t\r\n\r\nx\r\n".utf8), notBefore: Date()))
        }
        let server = try OutboundScriptedServer.start(
            SMTPClientEdgeCaseTests.greetingAndEHLO + [
                OutboundScriptedServer.Step(send: "250 ok\r\n"), OutboundScriptedServer.Step(send: "250 ok\r\n"),
                OutboundScriptedServer.Step(send: "354 go\r\n"),
                OutboundScriptedServer.Step(send: ""), OutboundScriptedServer.Step(send: ""),  // header, blank line
                OutboundScriptedServer.Step(send: ""),  // body line
                OutboundScriptedServer.Step(send: "250 2.0.0 queued\r\n"),  // the final "."
                OutboundScriptedServer.Step(send: ""),  // QUIT: read, never answered
            ])
        defer { server.stop() }
        let journal = try DeliveryJournal(path: folder + "/" + DeliveryJournal.fileName)
        let outbox = JournalSnapshottingOutbox(ThreadStoreOutbox(store: store), journal: journal)
        let queue = OutboundQueue(store: outbox, deliverer: SMTPClientEdgeCaseTests.client(server),
                                  policy: OutboundQueueTests.fastPolicy, journal: journal)
        let task = Task { try await queue.run() }
        defer { task.cancel() }
        queue.kick()
        #expect(await OutboundQueueTests.eventually(.seconds(4)) { await outbox.snapshots.count == 1 })
        #expect(await outbox.snapshots == [[row.unredactedDescription]], "journaled before the outbox update")
        #expect(await OutboundQueueTests.eventually(.seconds(4)) {
            (try? await store.read { try $0.dueOutboxItems(now: Date(), limit: 10) })?.isEmpty ?? false
        })
    }
}

/// Notes what the journal holds at the moment each outbox update starts.
private actor JournalSnapshottingOutbox: OutboxStore {
    let base: ThreadStoreOutbox
    let journal: DeliveryJournal
    private(set) var snapshots: [[String]] = []
    init(_ base: ThreadStoreOutbox, journal: DeliveryJournal) {
        self.base = base
        self.journal = journal
    }
    func dueItems(now: Date, limit: Int) async throws -> [QueuedMail] {
        try await base.dueItems(now: now, limit: limit)
    }
    func nextAttemptDate() async throws -> Date? { try await base.nextAttemptDate() }
    func markDelivered(_ id: QueueItemID) async throws {
        snapshots.append(try journal.recorded())
        try await base.markDelivered(id)
    }
    func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws {
        try await base.markRetry(id, nextAttempt: nextAttempt, lastError: lastError)
    }
    func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws {
        try await base.markFailed(id, reason: reason)
    }
}

extension DeliveryJournalTests {
    /// One ID per queue item (issues 19 and 22): the log's `queue.item` and the store's row ID (what `mailbridge
    /// queue list` prints, and what the journal records, see `theJournalLineIsWrittenBeforeTheOutboxUpdate`) are
    /// the same text.
    @Test func theLogAndQueueListNameAnItemAlike() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try ThreadStore(at: folder.url.appendingPathComponent("threads.sqlite"), masterKey: .generate())
        defer { try? store.close() }
        let row = try await store.write { tx in
            try tx.enqueueOutbox(NewOutboxItem(thread: nil, kind: .redirectReply,
                                               recipient: try ClientAddress("client@example.net"),
                                               payload: Array("Subject: t\r\n\r\nx\r\n".utf8), notBefore: Date()))
        }
        // What `mailbridge queue list` prints while the item waits.
        let listed = try await store.read { try $0.outboxOverview(limit: 10) }.map(\.id.unredactedDescription)
        let logs = LogCapture()
        let journalPath = folder.path + "/" + DeliveryJournal.fileName
        let deliverer = CountingDeliverer()
        let queue = OutboundQueue(store: ThreadStoreOutbox(store: store), deliverer: deliverer, policy: RetryPolicy(),
                                  logger: logs.logger("queue"), journal: try DeliveryJournal(path: journalPath))
        let running = Task { try await queue.run() }
        queue.kick()
        #expect(await OutboundQueueTests.eventually(.seconds(10)) {
            (try? await store.read { try $0.dueOutboxItems(now: Date(), limit: 10) }.isEmpty) == true
        })
        running.cancel()
        let named = row.unredactedDescription
        #expect(listed == [named])
        #expect(logs.all.contains { $0.contains("\"queue.item\": \(named)") }, "\(logs.all)")
    }
}

/// Accepts every message at once.
private actor CountingDeliverer: MessageDeliverer {
    private(set) var count = 0

    nonisolated func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer) async -> DeliveryResult {
        await deliver(envelope, message: message, recordAcceptance: {}, onAccepted: {})
    }

    nonisolated func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer,
                             recordAcceptance: @escaping @Sendable () -> Void,
                             onAccepted: @escaping @Sendable () async -> Void) async -> DeliveryResult {
        await increment()
        recordAcceptance()
        await onAccepted()
        return .delivered(.ok, nil)
    }

    private func increment() { count += 1 }
}

/// An outbox whose delivered-record never completes, as if the process died inside it.
private struct StallingDeliveredOutbox: OutboxStore {
    let base: ThreadStoreOutbox
    init(_ base: ThreadStoreOutbox) { self.base = base }
    func dueItems(now: Date, limit: Int) async throws -> [QueuedMail] { try await base.dueItems(now: now, limit: limit) }
    func nextAttemptDate() async throws -> Date? { try await base.nextAttemptDate() }
    func markDelivered(_ id: QueueItemID) async throws {
        try await Task.sleep(for: .seconds(3600))
    }
    func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws {
        try await base.markRetry(id, nextAttempt: nextAttempt, lastError: lastError)
    }
    func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws {
        try await base.markFailed(id, reason: reason)
    }
}
