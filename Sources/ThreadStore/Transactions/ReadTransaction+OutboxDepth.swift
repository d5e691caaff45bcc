import GRDB

/// How many outbox items wait, by kind and state, and how many counsellor replies are held back (waiting for a
/// usable client key). Counts only: nothing is decrypted.
public struct OutboxDepth: Sendable, Hashable {
    /// Items per kind and state; a combination without items is absent.
    public var items: [Key: Int] = [:]
    /// Held counsellor replies (not in the outbox until released).
    public var heldReplies = 0

    public struct Key: Sendable, Hashable {
        public var kind: OutboxKind
        public var state: OutboxState

        public init(kind: OutboxKind, state: OutboxState) {
            self.kind = kind
            self.state = state
        }
    }

    public init() {}

    /// The items of `kind` in `state` (0 if none).
    public func count(_ kind: OutboxKind, _ state: OutboxState) -> Int { items[Key(kind: kind, state: state)] ?? 0 }
}

extension ReadTransaction {
    /// The outbox's depth for the queue gauges (``OutboxDepth``). Rows of a kind or state this build does not know
    /// are left out. Two aggregate queries; decrypts nothing.
    public func outboxDepth() throws -> OutboxDepth {
        var depth = OutboxDepth()
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT kind, state, COUNT(*) AS n FROM outbox GROUP BY kind, state"))
        for row in rows {
            guard let kind = OutboxKind(rawValue: row["kind"]), let state = OutboxState(rawValue: row["state"])
            else { continue }
            depth.items[OutboxDepth.Key(kind: kind, state: state)] = row["n"]
        }
        depth.heldReplies = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM held_reply")) ?? 0
        return depth
    }
}
