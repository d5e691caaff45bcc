public import Foundation
public import NIOCore

/// One message waiting in the outbox: envelope, the final RFC 5322 bytes (already encrypted where needed) and
/// its delivery history. `description` is redacted.
public struct QueuedMail: Hashable, Sendable, CustomStringConvertible {
    public var id: QueueItemID
    public var envelope: OutboundEnvelope
    public var message: ByteBuffer
    /// Attempts that ended with a recorded result (an attempt cut short by a crash is not counted).
    public var attempts: Int
    /// When the item was queued; ``RetryPolicy/maximumAge`` counts from here.
    public var queuedAt: Date
    public var nextAttempt: Date

    public init(
        id: QueueItemID, envelope: OutboundEnvelope, message: ByteBuffer, attempts: Int = 0, queuedAt: Date,
        nextAttempt: Date? = nil
    ) {
        self.id = id
        self.envelope = envelope
        self.message = message
        self.attempts = attempts
        self.queuedAt = queuedAt
        self.nextAttempt = nextAttempt ?? queuedAt
    }

    public var description: String { "QueuedMail(\(id), attempts: \(attempts), \(message.readableBytes) bytes)" }
}

/// Where outbox state lives durably. The queue keeps no state of its own that must survive a restart, so
/// "nothing lost" and "nothing delivered is sent again" are properties of the store (STYLE.md §10, §13).
///
/// The production implementation is backed by ThreadStore (rows written in the same transaction as the event
/// that caused them); tests use an in-memory one.
///
/// Delivery is at-least-once: an item whose attempt was in flight when the process died is still pending, so it
/// is sent again after restart. The receiver can deduplicate by the message's Message-ID header (RFC 5322
/// §3.6.4), which is part of the stored bytes and therefore identical on every attempt.
public protocol OutboxStore: Sendable {
    /// Pending items with `nextAttempt <= now`, earliest `nextAttempt` first, at most `limit`.
    func dueItems(now: Date, limit: Int) async throws -> [QueuedMail]
    /// The earliest `nextAttempt` of any pending item, or nil if none is pending.
    func nextAttemptDate() async throws -> Date?
    /// The server accepted the item: it is never returned by ``dueItems(now:limit:)`` again.
    func markDelivered(_ id: QueueItemID) async throws
    /// The attempt failed temporarily: count it and wait until `nextAttempt`.
    func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws
    /// The item will never be delivered (permanent failure, too old, too many attempts).
    func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws
    /// How often a delivery in flight renews its lease (``renewLease(_:now:)``); nil for a store of one node,
    /// which leases nothing.
    var leaseRenewalInterval: Duration? { get }
    /// Extends this node's lease on an item it is delivering. False when another node holds the item now (the
    /// queue then abandons the delivery where SMTP still allows it).
    func renewLease(_ id: QueueItemID, now: Date) async throws -> Bool
}

extension OutboxStore {
    public var leaseRenewalInterval: Duration? { nil }
    public func renewLease(_ id: QueueItemID, now: Date) async throws -> Bool { true }
}

/// Something that delivers one message; ``SMTPClient`` in production.
public protocol MessageDeliverer: Sendable {
    func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer) async -> DeliveryResult
    /// As ``deliver(_:message:)``, recording the server's acceptance as soon as it is known (before the session
    /// ends): first `recordAcceptance`, synchronously and without blocking (for ``SMTPClient`` on the event loop
    /// in the read that parsed the `250`), then `onAccepted` in the calling task; both at most once, in that
    /// order.
    func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer,
                 recordAcceptance: @escaping @Sendable () -> Void,
                 onAccepted: @escaping @Sendable () async -> Void) async -> DeliveryResult
}

extension MessageDeliverer {
    /// For deliverers that learn acceptance only at the end: both records run after a delivered result.
    public func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer,
                        recordAcceptance: @escaping @Sendable () -> Void,
                        onAccepted: @escaping @Sendable () async -> Void) async -> DeliveryResult {
        let result = await deliver(envelope, message: message)
        if case .delivered = result {
            recordAcceptance()
            await onAccepted()
        }
        return result
    }

    /// As ``deliver(_:message:recordAcceptance:onAccepted:)`` without the synchronous record.
    public func deliver(_ envelope: OutboundEnvelope, message: ByteBuffer,
                        onAccepted: @escaping @Sendable () async -> Void) async -> DeliveryResult {
        await deliver(envelope, message: message, recordAcceptance: {}, onAccepted: onAccepted)
    }
}

extension SMTPClient: MessageDeliverer {}
