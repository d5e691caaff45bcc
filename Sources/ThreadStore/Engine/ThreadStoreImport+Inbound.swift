// Security: the inbound pipeline's transactions on SQLite, moved unchanged from the pipeline's `store.write {}`
// closures onto ``InboundStore``: the same transaction methods in the same order, no new SQL, no new sealing.

public import Foundation

extension ThreadStoreImport: InboundStore {
    public func receiptMayBeDue(for identity: ClientIdentity, references: [String], givesAwaitedKey: Bool,
                                now: Date, period: TimeInterval) async throws -> Bool {
        try await store.read { tx in
            if givesAwaitedKey, try tx.threadAwaitsKey(of: identity) { return true }
            guard let thread = try tx.threadAnswered(by: references, client: identity)
                ?? tx.findThread(client: identity)
            else { return true }
            return try !tx.receiptIsRateLimited(in: thread, now: now, period: period)
        }
    }

    public var limits: ThreadStore.Configuration { store.configuration }

    public func senderHMAC(canonicalAddress: String) -> SenderHMAC {
        store.senderHMAC(canonicalAddress: canonicalAddress)
    }

    public func importFromClient(_ step: ClientMessageImport) async throws -> ClientMessageImported {
        try await store.write { tx in
            if step.givesAwaitedKey { _ = try tx.giveAwaitedKey(step.identity) }
            var message = step.message
            message.verdict = step.verdict(try tx.keyStanding(of: step.identity))
            let answered = try tx.threadAnswered(by: step.references, client: step.identity)
            let outcome = try tx.importMessage(message, into: answered.map { .thread($0) } ?? .client(step.identity))
            var notice: NoticeAction?
            var receiptQueued = false
            if case .stored(let thread, _, _) = outcome {
                notice = try tx.route(step.notice, newMessageIn: thread)
                if message.verdict == .valid, let receipt = step.receipt,
                    try tx.shouldSendReceipt(in: thread, now: receipt.time, period: receipt.period)
                {
                    try tx.enqueueOutbox(receipt.item(in: thread))
                    receiptQueued = true
                }
            }
            return ClientMessageImported(outcome: outcome, verdict: message.verdict, notice: notice,
                                         receiptQueued: receiptQueued)
        }
    }

    public func importAwaitingKey(_ step: AwaitingKeyMessageImport) async throws -> InboundImported {
        try await store.write { tx in
            let outcome = try tx.importMessage(step.message, into: .awaitingKey(step.client))
            var notice: NoticeAction?
            var requested = false
            if case .stored(let thread, _, _) = outcome {
                notice = try tx.route(step.notice, newMessageIn: thread)
                if let request = step.keyRequest,
                    try tx.shouldRequestClientKey(for: request.key, thread: thread, now: request.time,
                                                  period: request.period)
                {
                    var item = request.item
                    item.thread = thread
                    try tx.enqueueOutbox(item)
                    requested = true
                }
            }
            return InboundImported(outcome: outcome, notice: notice, keyRequestQueued: requested)
        }
    }

    public func queueRedirect(_ item: NewOutboxItem, sender: SenderHMAC, now: Date, period: TimeInterval)
        async throws -> Bool
    {
        try await store.write { tx in
            guard try tx.shouldSendRedirect(to: sender, now: now, period: period) else {
                try tx.recordInbound(.inboundRedirectSuppressed, reason: 2)
                return false
            }
            try tx.enqueueOutbox(item)
            try tx.recordInbound(.inboundRedirected)
            return true
        }
    }

    public func queueLimitedNotice(_ item: NewOutboxItem, key: SenderHMAC, now: Date, period: TimeInterval,
                                   recording: InboundRecord) async throws -> Bool {
        try await store.write { tx in
            try tx.recordInbound(recording.event, reason: recording.reason)
            guard try tx.shouldSendRedirect(to: key, now: now, period: period) else { return false }
            try tx.enqueueOutbox(item)
            return true
        }
    }

    public func queueNotice(_ item: NewOutboxItem, once token: String?, now: Date, period: TimeInterval)
        async throws -> Bool
    {
        try await store.write { tx in
            if let token, try !tx.recordOnce(token, now: now, period: period) { return false }
            try tx.enqueueOutbox(item)
            return true
        }
    }

    public func keepRejected(_ message: RejectedMessage) async throws -> Bool {
        try await store.write { try $0.keepRejected(message) }
    }

    public func recordInbound(_ event: AuditEvent, reason: Int?) async throws {
        try await store.write { try $0.recordInbound(event, reason: reason) }
    }

    public func registeredClientKey(field: CounsellingField, address: ClientAddress) async throws
        -> ClientKeyFingerprint?
    {
        try await store.read { try $0.registeredClientKey(field: field, address: address) }
    }

    public func firstAddress(ofKey key: ClientKeyFingerprint, field: CounsellingField) async throws
        -> ClientAddress?
    {
        try await store.read { try $0.firstAddress(ofKey: key, field: field) }
    }
}

extension WriteTransaction {
    /// Notifies about a new message in `thread` as `plan` decides from the thread's assignee and its notice target:
    /// queues the notice or counts it for a digest, in this transaction. Returns what it did.
    public func route(_ plan: NoticePlan, newMessageIn thread: ThreadID) throws -> NoticeAction {
        var assignee: AssigneeNotice?
        if let account = try reader.inboxThread(thread)?.assignedTo, let target = try noticeTarget(of: account) {
            assignee = AssigneeNotice(account: account, settings: target)
        }
        let action = try plan.decide(thread, assignee)
        switch action {
        case .queue(let item, _): _ = try enqueueOutbox(item)
        case .count(let recipient, let mode): try countNotice(for: recipient, field: plan.field, mode: mode,
                                                              now: plan.time)
        }
        return action
    }
}
