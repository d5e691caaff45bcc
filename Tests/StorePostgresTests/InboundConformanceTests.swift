import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// Every transaction of the inbound pipeline (``InboundStore``) against ThreadStore on SQLite and
/// ``PostgresThreads`` on a real PostgreSQL, also under the gateway's least-privilege role (issue 21): the same
/// outcomes, the same verdicts, the same queued items and the same audit rows on every engine.
@Suite struct InboundConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start

    /// `event/count/thread` as the engines' `audit` lists them.
    static func row(_ event: AuditEvent, _ count: Int? = nil, thread: Bool = false) -> String {
        "\(event.rawValue)/\(count.map(String.init) ?? "-")/\(thread ? "T" : "-")"
    }

    static func queued(_ kind: OutboxKind, thread: Bool = false) -> String {
        row(.outboxQueued, kind.rawValue, thread: thread)
    }

    @Test(arguments: engines)
    func aClientMessageIsImportedWithItsNoticeAndOneReceipt(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(1)
        let first = try await store.importFromClient(InboundEngines.fromClient(ImportEngines.message("m1"), client))
        guard case .stored(let thread, _, createdThread: true) = first.outcome else {
            Issue.record("\(name): \(first)")
            return
        }
        #expect(first.verdict == .valid && first.receiptQueued)
        guard case .queue(_, .team(ImportEngines.field)) = first.notice else {
            Issue.record("\(name): \(String(describing: first.notice))")
            return
        }
        // The next message: the same thread, a notice, no second receipt within the period.
        let second = try await store.importFromClient(InboundEngines.fromClient(
            ImportEngines.message("m2", at: t0.addingTimeInterval(60)), client))
        #expect(second.outcome.storedThread == thread && second.verdict == .valid && !second.receiptQueued)
        // The first again: a duplicate, nothing queued, no notice.
        let again = try await store.importFromClient(InboundEngines.fromClient(ImportEngines.message("m1"), client))
        guard case .duplicate(thread, _) = again.outcome else {
            Issue.record("\(name): \(again)")
            return
        }
        #expect(again.notice == nil && !again.receiptQueued && !again.queued)
        // No receipt for a message whose verdict is not valid: a later thread of another key for the address.
        let changed = ImportEngines.identity(9, address: "client1@example.org")
        let third = try await store.importFromClient(InboundEngines.fromClient(
            ImportEngines.message("m3", at: t0.addingTimeInterval(120)), changed))
        #expect(third.verdict == .unconfirmedKeyChange && !third.receiptQueued)
        #expect(third.outcome.storedThread != nil && third.outcome.storedThread != thread)

        let content = try await store.threadContent(thread)
        #expect(content.messages.map(\.verdict) == [.valid, .valid])
        #expect(content.queuedOutboxItems == 1)  // the receipt (notices belong to no thread)
        let changedContent = try await store.threadContent(try #require(third.outcome.storedThread))
        #expect(changedContent.messages.map(\.verdict) == [.unconfirmedKeyChange])
        #expect(try await engine.audit() == [
            Self.row(.threadCreated, thread: true), Self.row(.messageStored, thread: true),
            Self.queued(.notification), Self.row(.receiptQueued, thread: true), Self.queued(.receipt, thread: true),
            Self.row(.messageStored, thread: true), Self.queued(.notification),
            Self.row(.duplicateIgnored, thread: true),
            Self.row(.threadCreated, thread: true), Self.row(.messageStored, thread: true),
            Self.queued(.notification),
        ])
        #expect(try await store.registeredClientKey(field: ImportEngines.field, address: client.address) == client.key)
        #expect(try await store.firstAddress(ofKey: changed.key, field: ImportEngines.field) == client.address)
        #expect(try await store.registeredClientKey(
            field: ImportEngines.field, address: try ClientAddress("nobody@example.org")) == nil)
    }

    @Test(arguments: engines)
    func aReplyJoinsTheThreadItAnswersEvenWhenClosed(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(1)
        let first = try await store.importFromClient(InboundEngines.fromClient(ImportEngines.message("m1"), client))
        let thread = try #require(first.outcome.storedThread)
        // Our reply in the thread, then the thread closed: a new message starts a new thread ...
        var reply = ImportEngines.message("reply1", at: t0.addingTimeInterval(10))
        reply.direction = .outbound
        #expect(try await store.importMessage(reply, into: .thread(thread)).storedThread == thread)
        try await engine.close(thread)
        let fresh = try await store.importFromClient(InboundEngines.fromClient(
            ImportEngines.message("m2", at: t0.addingTimeInterval(20)), client, receipt: nil))
        let newThread = try #require(fresh.outcome.storedThread)
        #expect(newThread != thread)
        // ... but an answer to our reply joins (and reopens) the thread it answers.
        let answer = try await store.importFromClient(InboundEngines.fromClient(
            ImportEngines.message("m3", at: t0.addingTimeInterval(30)), client,
            references: ["<other@example.org>", "<reply1@example.org>"], receipt: nil))
        #expect(answer.outcome.storedThread == thread)
        #expect(try await store.threadContent(thread).state == .open)
        // Another client naming the same reply does not reach the thread.
        let stranger = try await store.importFromClient(InboundEngines.fromClient(
            ImportEngines.message("m4"), ImportEngines.identity(2), references: ["<reply1@example.org>"],
            receipt: nil))
        #expect(stranger.outcome.storedThread != thread && stranger.outcome.storedThread != newThread)
    }

    @Test(arguments: engines)
    func mailWithoutKeyAsksOnceAndTheAwaitedKeyOpensTheThread(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(5, address: "ohne@example.org")
        let awaiting = AwaitingKeyClient(field: ImportEngines.field, address: client.address,
                                         signer: try AwaitedSignerID(client.key.hex))
        let key = store.keyRequestHMAC(canonicalAddress: "ohne@example.org")
        func step(_ id: String, at offset: TimeInterval) -> AwaitingKeyMessageImport {
            AwaitingKeyMessageImport(
                message: ImportEngines.message(id, at: t0.addingTimeInterval(offset), provisional: true,
                                               verdict: .missingKey),
                client: awaiting, notice: InboundEngines.notice(each: false),
                keyRequest: KeyRequestPlan(item: InboundEngines.item(.notification, to: "ohne@example.org"), key: key,
                                           time: t0.addingTimeInterval(offset), period: 86_400))
        }
        let first = try await store.importAwaitingKey(step("w1", at: 0))
        let thread = try #require(first.outcome.storedThread)
        #expect(first.keyRequestQueued)
        guard case .count(.team(ImportEngines.field), .hourly) = first.notice else {
            Issue.record("\(name): \(first)")
            return
        }
        let second = try await store.importAwaitingKey(step("w2", at: 60))
        #expect(second.outcome.storedThread == thread && !second.keyRequestQueued)
        #expect(try await store.threadContent(thread).isAwaitingKey)
        #expect(try await store.registeredClientKey(field: ImportEngines.field, address: client.address) == nil)
        #expect(try await engine.noticeCounts() == ["0/beratung/beratung/1/2"])

        // A message signed by the awaited key gives the thread its key and joins it.
        let keyed = try await store.importFromClient(InboundEngines.fromClient(
            ImportEngines.message("k1", at: t0.addingTimeInterval(120)), client, givesAwaitedKey: true))
        #expect(keyed.outcome.storedThread == thread && keyed.verdict == .valid && keyed.receiptQueued)
        let content = try await store.threadContent(thread)
        #expect(!content.isAwaitingKey && content.clientKey == client.key && content.messages.count == 3)
        #expect(try await store.registeredClientKey(field: ImportEngines.field, address: client.address) == client.key)
        #expect(try await engine.audit() == [
            Self.row(.threadCreated, thread: true), Self.row(.messageStored, thread: true),
            Self.row(.clientKeyRequested, thread: true), Self.queued(.notification, thread: true),
            Self.row(.messageStored, thread: true),
            Self.row(.threadKeyReceived, thread: true), Self.row(.messageStored, thread: true),
            Self.queued(.notification), Self.row(.receiptQueued, thread: true), Self.queued(.receipt, thread: true),
        ])
    }

    @Test(arguments: engines)
    func redirectsNoticesAndRecordsKeepTheirLimits(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name)
        let store = engine.store
        let anna = store.senderHMAC(canonicalAddress: "anna@example.org")
        let ben = store.senderHMAC(canonicalAddress: "ben@example.org")
        let period: TimeInterval = 3600
        #expect(try await store.queueRedirect(InboundEngines.item(), sender: anna, now: t0, period: period))
        #expect(try await !store.queueRedirect(InboundEngines.item(), sender: anna, now: t0.addingTimeInterval(60),
                                               period: period))
        #expect(try await store.queueRedirect(InboundEngines.item(), sender: ben, now: t0, period: period))
        #expect(try await store.queueRedirect(InboundEngines.item(), sender: anna,
                                              now: t0.addingTimeInterval(period + 1), period: period))
        // A recordOnce token: once; without a token, always.
        let notice = InboundEngines.item(.notification, to: "team@example.org")
        #expect(try await store.queueNotice(notice, once: "fetch-failed a", now: t0, period: period))
        #expect(try await !store.queueNotice(notice, once: "fetch-failed a", now: t0, period: period))
        #expect(try await store.queueNotice(notice, once: nil, now: t0, period: period))
        // The unstorable notice: recorded every time, queued once per period.
        let key = store.senderHMAC(canonicalAddress: "unstorable-notice team@example.org")
        let record = InboundRecord(.inboundEncryptedRejected, reason: 17)
        #expect(try await store.queueLimitedNotice(notice, key: key, now: t0, period: period, recording: record))
        #expect(try await !store.queueLimitedNotice(notice, key: key, now: t0, period: period, recording: record))
        try await store.recordInbound(.inboundRedirectSuppressed, reason: 100)
        try await store.recordInbound(.inboundEncryptedRejected, reason: nil)
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await store.recordInbound(.threadCreated, reason: nil)
        }
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await store.queueLimitedNotice(notice, key: key, now: t0, period: period,
                                               recording: InboundRecord(.messageStored))
        }
        #expect(try await engine.audit() == [
            Self.queued(.redirectReply), Self.row(.inboundRedirected),
            Self.row(.inboundRedirectSuppressed, 2),
            Self.queued(.redirectReply), Self.row(.inboundRedirected),
            Self.queued(.redirectReply), Self.row(.inboundRedirected),
            Self.queued(.notification), Self.queued(.notification),
            Self.row(.inboundEncryptedRejected, 17), Self.queued(.notification),
            Self.row(.inboundEncryptedRejected, 17),
            Self.row(.inboundRedirectSuppressed, 100), Self.row(.inboundEncryptedRejected),
        ])
    }

    @Test(arguments: engines)
    func aRejectedMessageIsKeptOnce(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name)
        let store = engine.store
        let kept = RejectedMessage(id: "Q123", reason: 4, rejectedAt: t0, envelope: Data("{}".utf8),
                                   message: Data("-----BEGIN PGP MESSAGE-----".utf8))
        #expect(try await store.keepRejected(kept))
        #expect(try await !store.keepRejected(kept))
        var empty = kept
        empty.id = ""
        await #expect(throws: ThreadStoreError.invalidValue) { try await store.keepRejected(empty) }
        var large = kept
        large.id = "Q124"
        large.message = Data(count: store.limits.maximumBodyBytes + 1)
        await #expect(throws: ThreadStoreError.invalidValue) { try await store.keepRejected(large) }
        #expect(try await engine.audit().isEmpty)
    }

    @Test(arguments: engines)
    func aStepThatFailsChangesNothing(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(1)
        // A receipt over the outbox limit: the whole step rolls back (no thread, no notice, no audit row).
        var receipt = InboundEngines.receipt()
        receipt.payload = Array(repeating: 0x42, count: store.limits.maximumOutboxPayloadBytes + 1)
        await #expect(throws: ThreadStoreError.limitExceeded) {
            try await store.importFromClient(InboundEngines.fromClient(ImportEngines.message("m1"), client,
                                                                       receipt: receipt))
        }
        // A notice decision that throws rolls the import back too.
        let failing = NoticePlan(field: ImportEngines.field, time: t0) { _, _ in throw ThreadStoreError.invalidValue }
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await store.importFromClient(ClientMessageImport(
                message: ImportEngines.message("m1"), identity: client, givesAwaitedKey: false, references: [],
                verdict: InboundEngines.verdict, notice: failing, receipt: nil))
        }
        #expect(try await engine.audit().isEmpty)
        #expect(try await store.registeredClientKey(field: ImportEngines.field, address: client.address) == nil)
        let stored = try await store.importFromClient(InboundEngines.fromClient(ImportEngines.message("m1"), client))
        #expect(stored.outcome.storedThread != nil && stored.receiptQueued)
    }
}
