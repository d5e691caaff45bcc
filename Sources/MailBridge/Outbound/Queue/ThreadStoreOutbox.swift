public import Foundation
import MailValues
import NIOCore
public import ThreadStore

/// The outbound queue's view of ThreadStore's outbox table. The queue names each item by its row's own ID
/// (``QueueItemID`` holds the store's `OutboxItemID`), so nothing is mapped and a restart changes no name.
///
/// Envelope senders: redirect replies and counsellor notices are automatic mail and go out with the null
/// reverse path `MAIL FROM:<>` (RFC 3834 §3.3: so that no auto-responder answers them). Counsellor replies
/// are personal mail: they go out with the thread's mailbox address as reverse path (RFC 5321 §4.1.1.2), so
/// bounces come back to the mailbox.
public actor ThreadStoreOutbox: OutboxStore {
    private let store: ThreadStore
    private let metrics: GatewayMetrics?
    private let mailboxes: MailboxDirectory
    /// Rows whose result was recorded, with the `epoch` at recording. A read that began before that (the actor
    /// is re-entered while it awaits the store) still sees such a row as due; it must not be sent again.
    private var settled: [OutboxItemID: UInt64] = [:]
    private var epoch: UInt64 = 0

    /// - Parameter mailboxes: the counselling mailboxes; a counsellor reply uses the address of its thread's field.
    public init(store: ThreadStore, mailboxes: MailboxDirectory, metrics: GatewayMetrics? = nil) {
        self.store = store
        self.metrics = metrics
        self.mailboxes = mailboxes
    }

    /// An outbox over fixed mailboxes (tests and one-shot commands).
    public init(store: ThreadStore, mailboxes: [PipelineMailbox] = [], metrics: GatewayMetrics? = nil) {
        self.init(store: store, mailboxes: MailboxDirectory(mailboxes), metrics: metrics)
    }

    public func dueItems(now: Date, limit: Int) async throws -> [QueuedMail] {
        let started = epoch
        let (fetched, waiting) = try await store.read { tx in
            let due = try tx.dueOutboxItemsAndWaiting(now: now, limit: min(limit, 500))
            return (try due.items.map { item in
                (item, item.kind == .counsellorReply ? try item.thread.flatMap { try tx.thread($0)?.field } : nil)
            }, due.waiting)
        }
        // Items of threads whose organisation's key is not loaded wait (issue 29), looked at again in 10 minutes,
        // so that they neither block the others nor wake the queue at once.
        if !waiting.isEmpty {
            try await store.write { tx in try tx.postponeOutboxItems(waiting, until: now.addingTimeInterval(600)) }
        }
        // Rows settled before this read began cannot be in it (nor in later reads): forget them.
        settled = settled.filter { $0.value > started }
        let items = fetched.filter { settled[$0.0.id] == nil }
        return try items.map { item, field in try QueuedMail(item, field: field, mailboxes: mailboxes) }
    }

    public func nextAttemptDate() async throws -> Date? {
        try await store.read { try $0.nextOutboxAttemptDate() }
    }

    public func markDelivered(_ id: QueueItemID) async throws {
        let row = id.outboxItem
        try await store.write { try $0.markOutboxDelivered(row) }
        metrics?.outboundResult("delivered")
        settle(row)
    }

    public func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws {
        let row = id.outboxItem
        try await store.write { try $0.scheduleOutboxRetry(row, at: nextAttempt) }
        metrics?.outboundResult("retry")
        settle(row)
    }

    public func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws {
        let row = id.outboxItem
        try await store.write { try $0.markOutboxFailed(row) }
        metrics?.outboundResult("failed")
        settle(row)
    }

    private func settle(_ row: OutboxItemID) {
        epoch += 1
        settled[row] = epoch
    }
}

extension QueuedMail {
    /// The queue's item for an opened outbox row, on any engine: the envelope as the type comment of
    /// ``ThreadStoreOutbox`` says (a counsellor reply from the mailbox of its thread's `field`, everything else
    /// with the null reverse path).
    init(_ item: OutboxItem, field: CounsellingField?, mailboxes: MailboxDirectory) throws {
        let mailbox = item.kind == .counsellorReply ? field.flatMap { mailboxes.mailbox(forField: $0) } : nil
        let reversePath: ReversePath = mailbox.map { .mailbox($0.address) } ?? .null
        let envelope = OutboundEnvelope(reversePath: reversePath,
                                        recipients: [try EmailAddress(item.recipient.unredactedDescription)])
        self.init(id: QueueItemID(item.id), envelope: envelope, message: ByteBuffer(bytes: item.payload),
                  attempts: item.attempts, queuedAt: item.queuedAt, nextAttempt: item.nextAttemptAt)
    }
}
