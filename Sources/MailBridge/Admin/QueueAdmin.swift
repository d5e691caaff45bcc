public import Foundation
import StorePostgres
import ThreadStore

/// `mailbridge queue list` and `mailbridge backup --out FILE`.
public enum QueueAdmin {
    struct ListedItem: Encodable {
        var id: String
        var kind: String
        var state: String
        var attempts: Int
        var nextAttempt: Date
        var queuedAt: Date
        var size: Int
    }

    /// Outbox rows: ID, kind, state, attempts, next attempt. No recipients and no content. On PostgreSQL: every
    /// node's rows.
    public static func list(_ installation: OpenedInstallation, json: Bool) async throws -> AdminResult {
        let entries: [OutboxEntry]
        switch installation.engine {
        case .sqlite(let store): entries = try await store.read { try $0.outboxOverview(limit: 500) }
        case .postgresql(let opened): entries = try await opened.outbox.overview(limit: 500)
        }
        let items = entries.map {
            ListedItem(id: $0.id.unredactedDescription, kind: "\($0.kind)", state: "\($0.state)",
                       attempts: $0.attempts, nextAttempt: $0.nextAttemptAt, queuedAt: $0.queuedAt, size: $0.payloadSize)
        }
        if json { return AdminResult(output: try AdminSession.json(items)) }
        let formatter = ISO8601DateFormatter()
        let lines = items.map {
            "\($0.id)  \($0.kind)  \($0.state)  attempts: \($0.attempts)  next: \(formatter.string(from: $0.nextAttempt))"
        }
        return AdminResult(output: lines.isEmpty ? "the queue is empty" : lines.joined(separator: "\n"))
    }
}
