// Security: keeps two running processes from serving under one node name (issue 21, docs/postgresql.md "Two
// processes with one node-id"). Outbox leases and spool rows are held by node name: two live processes with the
// same `[store] node-id` would each take the other's rows for their own, so mail would be delivered and processed
// twice. Rows hold the node name, a random token per process and times; nothing else.

public import Logging
import NIOCore
import PostgresNIO
public import ThreadStore

/// One gateway process's hold on its node name: claimed at start, renewed while it runs (its heartbeat, on the
/// database's clock), released when it stops. A claim held by another process waits until that heartbeat ran out,
/// and fails if the heartbeat moves on meanwhile (a second live process with this name).
///
/// ```swift
/// let claim = try PostgresNodeClaim(database, node: "node-a", lease: .seconds(60), logger: logger)
/// try await claim.claim(succeeding: previousToken)   // at start; previousToken: this data folder's last process
/// guard try await claim.renew() else { /* another process took the name over: stop */ }
/// try await claim.release()                           // at a clean stop
/// ```
public final class PostgresNodeClaim: Sendable {
    let database: PostgresDatabase
    let node: PostgresNodeID
    /// How long a heartbeat lasts without renewal.
    public let lease: Duration
    /// This process's token (32 lowercase hex digits).
    public let instance: String
    let logger: Logger

    /// - Throws: ``ThreadStoreError/invalidValue`` for a node name or lease the outbox refuses, or a malformed
    ///   `instance`.
    public init(_ database: PostgresDatabase, node: String, lease: Duration, instance: String = makeInstance(),
                logger: Logger) throws {
        guard Self.isInstance(instance) else { throw ThreadStoreError.invalidValue }
        self.database = database
        self.node = try PostgresOutboxQueue.nodeID(node, lease: lease)
        self.lease = lease
        self.instance = instance
        self.logger = logger
    }

    /// A fresh random token.
    public static func makeInstance() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }.joined()
    }

    /// Whether `text` is a token as ``makeInstance()`` writes them.
    public static func isInstance(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// What one attempt found.
    public enum Attempt: Sendable, Hashable {
        /// This process holds the name now.
        case claimed
        /// Another process holds it; its heartbeat lasts until `heartbeatUntil` (the database's clock, ms), that is
        /// `remaining` from now.
        case heldByAnother(heartbeatUntil: Int64, remaining: Duration)
    }

    /// Takes the name if no process holds it, its holder's heartbeat ran out, or its holder is `predecessor` (this
    /// data folder's previous process, known to be gone: the caller holds the data folder's exclusive claim).
    public func attempt(succeeding predecessor: String? = nil) async throws -> Attempt {
        let (node, instance, logger) = (self.node, self.instance, self.logger)
        let lease = self.lease.storedMilliseconds
        let predecessor = predecessor.flatMap { Self.isInstance($0) ? $0 : nil } ?? instance
        return try await database.write { connection in
            let claimed = try await connection.query("""
                INSERT INTO gateway_node (node, instance, heartbeat_until, started_at)
                VALUES (\(node.raw), \(instance), \(unescaped: Self.now) + \(lease), \(unescaped: Self.now))
                ON CONFLICT (node) DO UPDATE SET instance = excluded.instance,
                    heartbeat_until = excluded.heartbeat_until, started_at = excluded.started_at
                WHERE gateway_node.heartbeat_until < \(unescaped: Self.now)
                    OR gateway_node.instance IN (\(instance), \(predecessor))
                RETURNING 1
                """, logger: logger)
            for try await _ in claimed.decode(Int.self) { return .claimed }
            let held = try await connection.query("""
                SELECT heartbeat_until, heartbeat_until - \(unescaped: Self.now) FROM gateway_node
                WHERE node = \(node.raw)
                """, logger: logger)
            for try await (until, remaining) in held.decode((Int64, Int64).self) {
                return .heldByAnother(heartbeatUntil: until, remaining: .milliseconds(max(0, remaining)))
            }
            // Deleted between the two statements (its holder stopped): the caller tries again.
            return .heldByAnother(heartbeatUntil: 0, remaining: .zero)
        }
    }

    /// Claims the name (``attempt(succeeding:)``), waiting while another process's heartbeat lasts; `waiting` is
    /// told how long, once per new heartbeat seen. Gives up when the other process renews its heartbeat.
    /// - Throws: ``NodeNameInUse`` when another live process holds the name.
    public func claim(succeeding predecessor: String? = nil,
                      waiting: @Sendable (Duration) -> Void = { _ in }) async throws {
        var seen: Int64?
        while true {
            switch try await attempt(succeeding: predecessor) {
            case .claimed:
                return
            case .heldByAnother(let until, let remaining):
                if let seen, until > seen { throw NodeNameInUse(node: node.raw) }
                if seen == nil { waiting(remaining) }
                seen = until
                try await Task.sleep(for: min(remaining + .milliseconds(50), .seconds(1)))
            }
        }
    }

    /// Moves this process's heartbeat on. Returns false when the name is no longer this process's (another
    /// process claimed it after the heartbeat ran out): the caller must stop.
    public func renew() async throws -> Bool {
        let (node, instance, logger) = (self.node, self.instance, self.logger)
        let lease = self.lease.storedMilliseconds
        return try await database.write { connection in
            let rows = try await connection.query("""
                UPDATE gateway_node SET heartbeat_until = \(unescaped: Self.now) + \(lease)
                WHERE node = \(node.raw) AND instance = \(instance) RETURNING 1
                """, logger: logger)
            for try await _ in rows.decode(Int.self) { return true }
            return false
        }
    }

    /// Gives the name up at a clean stop, so that a process started next under it need not wait.
    public func release() async throws {
        let (node, instance, logger) = (self.node, self.instance, self.logger)
        try await database.write { connection in
            try await connection.query(
                "DELETE FROM gateway_node WHERE node = \(node.raw) AND instance = \(instance)", logger: logger)
        }
    }

    static let now = PostgresInboundSpool.databaseNow
}

/// Another live process holds this node name: two gateway processes were given one `[store] node-id`.
public struct NodeNameInUse: Error, Sendable, Hashable, CustomStringConvertible {
    public let node: String

    public init(node: String) { self.node = node }

    public var description: String {
        "another running gateway process holds node-id \"\(node)\" (its heartbeat in the database moved on while "
            + "this one waited): give each node its own [store] node-id"
    }
}
