public import Foundation
public import Logging
public import StorePostgres
import ThreadStore

/// The outbound queue's view of the outbox shared by several nodes on PostgreSQL (issue 21): ``dueItems(now:limit:)``
/// claims what it returns for this node (``PostgresOutboxQueue``), so two nodes' queues never send the same item
/// while its lease runs, and a node that died mid-delivery has its items sent by another once the lease ends.
///
/// Envelopes as ``ThreadStoreOutbox`` makes them: automatic mail with the null reverse path (RFC 3834 §3.3), a
/// counsellor reply from its thread's mailbox. A result this node can no longer record (its lease was taken over
/// by a slower delivery's end) is logged and dropped: the item is another node's now.
public actor PostgresOutboxStore: OutboxStore {
    private let outbox: PostgresOutboxQueue
    private let mailboxes: MailboxDirectory
    private let metrics: GatewayMetrics?
    private let logger: Logger
    /// Items this node claimed and has not recorded a result for, with the end of their lease.
    private var claimed: [QueueItemID: (mail: QueuedMail, leaseUntil: Date)] = [:]

    public init(outbox: PostgresOutboxQueue, mailboxes: MailboxDirectory, metrics: GatewayMetrics? = nil,
                logger: Logger) {
        self.outbox = outbox
        self.mailboxes = mailboxes
        self.metrics = metrics
        self.logger = logger
    }

    public func dueItems(now: Date, limit: Int) async throws -> [QueuedMail] {
        // What this node claimed stays its own until recorded or its lease ends, and the queue asks for more than
        // it launches (in-flight and held items are filtered there): so claimed items are handed out again rather
        // than claimed anew, and only the room left is claimed, or unlaunched items would sit under a lease.
        claimed = claimed.filter { $0.value.leaseUntil > now }
        let room = min(limit, 500) - claimed.count
        if room > 0 {
            let leaseUntil = now.addingTimeInterval(Double(outbox.leaseMilliseconds) / 1000)
            for claimedItem in try await outbox.claimDue(now: now, limit: room) {
                let mail = try QueuedMail(claimedItem.item, field: claimedItem.field, mailboxes: mailboxes)
                claimed[mail.id] = (mail, leaseUntil)
            }
        }
        return claimed.values.map(\.mail).sorted { ($0.nextAttempt, $0.id.rawValue) < ($1.nextAttempt, $1.id.rawValue) }
            .prefix(limit).map { $0 }
    }

    /// A third of the lease: two renewals may fail (a busy database) before another node may claim the item.
    public nonisolated var leaseRenewalInterval: Duration? { outbox.lease / 3 }

    public func renewLease(_ id: QueueItemID, now: Date) async throws -> Bool {
        let renewed = try await outbox.renewLease(id.outboxItem, now: now)
        if renewed, let mail = claimed[id]?.mail {
            claimed[id] = (mail, now.addingTimeInterval(Double(outbox.leaseMilliseconds) / 1000))
        }
        return renewed
    }

    public func nextAttemptDate() async throws -> Date? {
        try await outbox.nextClaimDate()
    }

    public func markDelivered(_ id: QueueItemID) async throws {
        note(try await outbox.markDelivered(id.outboxItem), id, "delivered")
    }

    public func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws {
        note(try await outbox.scheduleRetry(id.outboxItem, at: nextAttempt), id, "retry")
    }

    public func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws {
        note(try await outbox.markFailed(id.outboxItem), id, "failed")
    }

    private func note(_ recorded: Bool, _ id: QueueItemID, _ result: String) {
        claimed[id] = nil
        if recorded {
            metrics?.outboundResult(result)
        } else {
            logger.warning("outbox item no longer leased to this node; result not recorded",
                           metadata: ["item": "\(id)", "result": "\(result)"])
        }
    }
}
