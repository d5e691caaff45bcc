// Security: the inputs and outputs of ``InboundStore``'s steps. Messages are decrypted client words (sealed by the
// engine, never shown by `description`); outbox items are fixed texts or ciphertext built by the pipeline; the
// notice decision is the pipeline's pure rule, run by the engine inside its transaction on values it read there
// (an assignee's notification settings, opened from their sealed column). Descriptions show IDs and codes only.

public import Foundation

/// The notice about a new message, as decided from what the transaction read (issue 17).
public enum NoticeAction: Sendable, CustomStringConvertible {
    /// Queue this each-message notice for `recipient`.
    case queue(NewOutboxItem, NoticeRecipient)
    /// Count the message for the digest of `recipient` in the window of `mode` (``WriteTransaction/countNotice``).
    case count(NoticeRecipient, NoticeMode)

    public var description: String {
        switch self {
        case .queue(_, let recipient): "queue(\(recipient))"
        case .count(let recipient, let mode): "count(\(recipient), \(mode))"
        }
    }
}

/// The assignee of a thread and where its notices go now (``ReadTransaction/noticeTarget(of:)``).
public struct AssigneeNotice: Sendable, CustomStringConvertible {
    public var account: AccountID
    public var settings: NotificationSettings

    public init(account: AccountID, settings: NotificationSettings) {
        self.account = account
        self.settings = settings
    }

    public var description: String { "AssigneeNotice(\(account), \(settings))" }
}

/// How to notify about a new message in a thread: the engine reads the thread's assignee and its notice target
/// inside the import's transaction and runs `decide` (the pipeline's pure rule, `NoticeFactory`) on them.
public struct NoticePlan: Sendable, CustomStringConvertible {
    /// The counselling field the digest counters are kept for.
    public var field: CounsellingField
    /// The time the digest window is chosen by.
    public var time: Date
    /// The decision for a new message in a thread, given its assignee's notice target (nil: unassigned, or the
    /// assignee has no usable address).
    public var decide: @Sendable (ThreadID, AssigneeNotice?) throws -> NoticeAction

    public init(field: CounsellingField, time: Date,
                decide: @escaping @Sendable (ThreadID, AssigneeNotice?) throws -> NoticeAction) {
        self.field = field
        self.time = time
        self.decide = decide
    }

    public var description: String { "NoticePlan(\(field.rawValue))" }
}

/// A receipt (issue 17) ready to queue: encrypted before the transaction, queued in it only for a valid verdict,
/// a newly stored message and no receipt in the thread within `period`.
public struct ReceiptPlan: Sendable, CustomStringConvertible {
    public var recipient: ClientAddress
    /// The encrypted mail.
    public var payload: [UInt8]
    public var period: TimeInterval
    public var time: Date

    public init(recipient: ClientAddress, payload: [UInt8], period: TimeInterval, time: Date) {
        self.recipient = recipient
        self.payload = payload
        self.period = period
        self.time = time
    }

    /// The outbox item of the receipt in `thread`.
    public func item(in thread: ThreadID) -> NewOutboxItem {
        NewOutboxItem(thread: thread, kind: .receipt, recipient: recipient, payload: payload, notBefore: time)
    }

    public var description: String { "ReceiptPlan(\(payload.count) octets)" }
}

/// The "please send your public key" notice (issue 17), queued at most once per `period` per address (`key`).
public struct KeyRequestPlan: Sendable, CustomStringConvertible {
    /// The notice; its thread is set to the message's thread when queued.
    public var item: NewOutboxItem
    /// ``InboundStore/keyRequestHMAC(canonicalAddress:)`` of the From address.
    public var key: SenderHMAC
    public var time: Date
    public var period: TimeInterval

    public init(item: NewOutboxItem, key: SenderHMAC, time: Date, period: TimeInterval) {
        self.item = item
        self.key = key
        self.time = time
        self.period = period
    }

    public var description: String { "KeyRequestPlan(\(item.kind))" }
}

/// An audit entry of an inbound message that left no content: an event and a small code.
public struct InboundRecord: Sendable, Hashable, CustomStringConvertible {
    public var event: AuditEvent
    public var reason: Int?

    public init(_ event: AuditEvent, reason: Int? = nil) {
        self.event = event
        self.reason = reason
    }

    public var description: String { "InboundRecord(\(event), \(reason.map(String.init) ?? "-"))" }
}

/// The import of a message bound to a client key (``InboundStore/importFromClient(_:)``).
public struct ClientMessageImport: Sendable, CustomStringConvertible {
    /// The message, fitted to the store's limits; its verdict is set from ``verdict``.
    public var message: NewMessage
    public var identity: ClientIdentity
    /// Whether the message may give a thread that awaits `identity.key` from `identity.address` its key
    /// (``WriteTransaction/giveAwaitedKey(_:)``): a good signature by its own key for its own From address.
    public var givesAwaitedKey: Bool
    /// The Message-IDs the message refers to (In-Reply-To, References), for the thread it answers.
    public var references: [String]
    /// The stored verdict for the key's standing (the pipeline's ``ClientKeyStanding`` rule).
    public var verdict: @Sendable (ClientKeyStanding) -> SignatureVerdictCode
    public var notice: NoticePlan
    public var receipt: ReceiptPlan?

    public init(message: NewMessage, identity: ClientIdentity, givesAwaitedKey: Bool, references: [String],
                verdict: @escaping @Sendable (ClientKeyStanding) -> SignatureVerdictCode, notice: NoticePlan,
                receipt: ReceiptPlan?) {
        self.message = message
        self.identity = identity
        self.givesAwaitedKey = givesAwaitedKey
        self.references = references
        self.verdict = verdict
        self.notice = notice
        self.receipt = receipt
    }

    public var description: String {
        "ClientMessageImport(\(identity), references: \(references.count), receipt: \(receipt != nil))"
    }
}

/// What ``InboundStore/importFromClient(_:)`` did.
public struct ClientMessageImported: Sendable, CustomStringConvertible {
    public var outcome: ImportOutcome
    /// The verdict stored (or that would have been, for a duplicate or replay).
    public var verdict: SignatureVerdictCode
    /// How the notice went, for a stored message.
    public var notice: NoticeAction?
    /// Whether the receipt was queued.
    public var receiptQueued: Bool

    public init(outcome: ImportOutcome, verdict: SignatureVerdictCode, notice: NoticeAction?, receiptQueued: Bool) {
        self.outcome = outcome
        self.verdict = verdict
        self.notice = notice
        self.receiptQueued = receiptQueued
    }

    /// Whether anything was queued in the outbox (so the caller wakes its queue).
    public var queued: Bool {
        if case .queue = notice { return true }
        return receiptQueued
    }

    public var description: String {
        "ClientMessageImported(\(outcome), \(verdict), notice: \(notice.map { "\($0)" } ?? "-"), "
            + "receipt: \(receiptQueued))"
    }
}

/// The import of a message without key (``InboundStore/importAwaitingKey(_:)``).
public struct AwaitingKeyMessageImport: Sendable, CustomStringConvertible {
    /// The message, fitted to the store's limits.
    public var message: NewMessage
    public var client: AwaitingKeyClient
    public var notice: NoticePlan
    public var keyRequest: KeyRequestPlan?

    public init(message: NewMessage, client: AwaitingKeyClient, notice: NoticePlan, keyRequest: KeyRequestPlan?) {
        self.message = message
        self.client = client
        self.notice = notice
        self.keyRequest = keyRequest
    }

    public var description: String { "AwaitingKeyMessageImport(\(client), key request: \(keyRequest != nil))" }
}

/// What ``InboundStore/importAwaitingKey(_:)`` did.
public struct InboundImported: Sendable, CustomStringConvertible {
    public var outcome: ImportOutcome
    public var notice: NoticeAction?
    /// Whether the key request was queued.
    public var keyRequestQueued: Bool

    public init(outcome: ImportOutcome, notice: NoticeAction?, keyRequestQueued: Bool) {
        self.outcome = outcome
        self.notice = notice
        self.keyRequestQueued = keyRequestQueued
    }

    /// Whether anything was queued in the outbox.
    public var queued: Bool {
        if case .queue = notice { return true }
        return keyRequestQueued
    }

    public var description: String {
        "InboundImported(\(outcome), notice: \(notice.map { "\($0)" } ?? "-"), key request: \(keyRequestQueued))"
    }
}
