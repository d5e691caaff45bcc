import Foundation
import MailBridge
import NIOCore
import ThreadStore

/// A test-only ``OutboxStore`` kept in memory (no SQLite), standing in for the ThreadStore-backed store the lead
/// adds later. It keeps the semantics the queue relies on, and counts calls so tests can check "never sent
/// twice". A "restart" is a new ``OutboundQueue`` on the same instance.
actor InMemoryOutboxStore: OutboxStore {
    enum State: Hashable {
        case pending
        case delivered
        case failed(DeliveryFailure)
    }

    struct Row {
        var item: QueuedMail
        var state: State
        var lastError: DeliveryFailure?
    }

    private(set) var rows: [QueueItemID: Row] = [:]
    private(set) var deliveredMarks: [QueueItemID: Int] = [:]
    private(set) var dueQueries = 0
    private var nextID: Int64 = 1

    @discardableResult
    func add(_ envelope: OutboundEnvelope, message: String, at date: Date = Date()) -> QueueItemID {
        // Zero-padded hex: the fake's IDs sort in the order they were added, like the real ones are unique.
        let id = QueueItemID(try! OutboxItemID(String(repeating: "0", count: 16) + String(format: "%016llx", nextID)))
        nextID += 1
        rows[id] = Row(item: QueuedMail(id: id, envelope: envelope, message: ByteBuffer(string: message), queuedAt: date),
            state: .pending)
        return id
    }

    func state(_ id: QueueItemID) -> State? { rows[id]?.state }
    func row(_ id: QueueItemID) -> Row? { rows[id] }

    func dueItems(now: Date, limit: Int) async throws -> [QueuedMail] {
        dueQueries += 1
        return rows.values.filter { $0.state == .pending && $0.item.nextAttempt <= now }
            .map(\.item).sorted { ($0.nextAttempt, $0.id) < ($1.nextAttempt, $1.id) }.prefix(limit).map { $0 }
    }

    func nextAttemptDate() async throws -> Date? {
        rows.values.filter { $0.state == .pending }.map(\.item.nextAttempt).min()
    }

    func markDelivered(_ id: QueueItemID) async throws {
        deliveredMarks[id, default: 0] += 1
        rows[id]?.state = .delivered
        rows[id]?.item.attempts += 1
    }

    func markRetry(_ id: QueueItemID, nextAttempt: Date, lastError: DeliveryFailure) async throws {
        rows[id]?.item.attempts += 1
        rows[id]?.item.nextAttempt = nextAttempt
        rows[id]?.lastError = lastError
    }

    func markFailed(_ id: QueueItemID, reason: DeliveryFailure) async throws {
        rows[id]?.item.attempts += 1
        rows[id]?.state = .failed(reason)
        rows[id]?.lastError = reason
    }
}
