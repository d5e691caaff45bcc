// Security: keeps two running processes from serving under one node name (issue 21, docs/postgresql.md "Two
// processes with one node-id"). Outbox leases and spool rows are held by node name: two live processes with the
// same `[store] node-id` would each take the other's rows for their own, so mail would be delivered and processed
// twice. Rows hold the node name, a random token per process and times; nothing else.

public import Logging
import NIOCore
import PostgresNIO
public import ThreadStore

/// Which process holds a node name: the machine's boot ID (`/proc/sys/kernel/random/boot_id`), its process ID and
/// its start time (clock ticks since boot). Only a process on the same machine, in the same boot, can tell whether
/// another process is gone.
public struct NodeProcess: Sendable, Hashable {
    public var boot: String
    public var pid: Int32
    public var start: Int64

    public init(boot: String, pid: Int32, start: Int64) {
        (self.boot, self.pid, self.start) = (boot, pid, start)
    }

    /// Whether `boot` is a boot ID as Linux writes it (a UUID in lowercase).
    static func isBoot(_ boot: String) -> Bool {
        boot.utf8.count == 36 && boot.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || $0 == 45 }
    }
}

/// One gateway process's hold on its node name: claimed at start, renewed while it runs (its heartbeat, on the
/// database's clock), released when it stops. A claim held by another process waits until that heartbeat ran out,
/// and fails if the heartbeat moves on meanwhile (a second live process with this name), unless the holder ran on
/// this machine in this boot and is gone (killed, crashed): then it is taken at once.
///
/// ```swift
/// let claim = try PostgresNodeClaim(database, node: "node-a", lease: .seconds(60), process: me, logger: logger)
/// try await claim.claim(holderIsGone: { process in /* no such process any more */ })   // at start
/// guard try await claim.renew() else { /* another process took the name over: stop */ }
/// try await claim.release()                                                           // at a clean stop
/// ```
public final class PostgresNodeClaim: Sendable {
    let database: PostgresDatabase
    let node: PostgresNodeID
    /// How long a heartbeat lasts without renewal.
    public let lease: Duration
    /// This process's token (32 lowercase hex digits).
    public let instance: String
    /// This process, recorded with its claim (nil where it cannot be told: then no successor takes it at once).
    public let process: NodeProcess?
    let logger: Logger

    /// - Throws: ``ThreadStoreError/invalidValue`` for a node name or lease the outbox refuses, or a malformed
    ///   `instance` or boot ID.
    public init(_ database: PostgresDatabase, node: String, lease: Duration, instance: String = makeInstance(),
                process: NodeProcess? = nil, logger: Logger) throws {
        guard Self.isInstance(instance), process.map({ NodeProcess.isBoot($0.boot) }) ?? true else {
            throw ThreadStoreError.invalidValue
        }
        self.database = database
        self.node = try PostgresOutboxQueue.nodeID(node, lease: lease)
        self.lease = lease
        self.instance = instance
        self.process = process
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

    /// Takes the name if no process holds it, its holder's heartbeat ran out, or its holder ran on this machine
    /// in this boot (the same boot ID) and `holderIsGone` says it is gone. The holder is replaced only if it is still
    /// the one looked at.
    public func attempt(holderIsGone: @Sendable (NodeProcess) -> Bool = { _ in false }) async throws -> Attempt {
        let (node, instance, logger, process) = (self.node, self.instance, self.logger, self.process)
        let lease = self.lease.storedMilliseconds
        let (boot, pid, start) = (process?.boot, process.map { Int64($0.pid) }, process?.start)
        return try await database.write { connection in
            let claimed = try await connection.query("""
                INSERT INTO gateway_node (node, instance, heartbeat_until, started_at, boot, pid, pid_start)
                VALUES (\(node.raw), \(instance), \(unescaped: Self.now) + \(lease), \(unescaped: Self.now),
                        \(boot)::text, \(pid)::integer, \(start)::bigint)
                ON CONFLICT (node) DO UPDATE SET instance = excluded.instance,
                    heartbeat_until = excluded.heartbeat_until, started_at = excluded.started_at,
                    boot = excluded.boot, pid = excluded.pid, pid_start = excluded.pid_start
                WHERE gateway_node.heartbeat_until < \(unescaped: Self.now) OR gateway_node.instance = \(instance)
                RETURNING 1
                """, logger: logger)
            for try await _ in claimed.decode(Int.self) { return .claimed }
            let held = try await connection.query("""
                SELECT instance, heartbeat_until, heartbeat_until - \(unescaped: Self.now), boot, pid, pid_start
                FROM gateway_node WHERE node = \(node.raw)
                """, logger: logger)
            var holder: (String, Int64, Int64, String?, Int64?, Int64?)?
            for try await row in held.decode((String, Int64, Int64, String?, Int64?, Int64?).self) { holder = row }
            // Deleted between the two statements (its holder stopped): the caller tries again.
            guard let (holderInstance, until, remaining, holderBoot, holderPID, holderStart) = holder else {
                return .heldByAnother(heartbeatUntil: 0, remaining: .zero)
            }
            if let boot, holderBoot == boot, let holderPID, let holderStart, let pid32 = Int32(exactly: holderPID),
               holderIsGone(NodeProcess(boot: boot, pid: pid32, start: holderStart)) {
                let taken = try await connection.query("""
                    UPDATE gateway_node SET instance = \(instance), heartbeat_until = \(unescaped: Self.now) + \(lease),
                        started_at = \(unescaped: Self.now), boot = \(boot), pid = \(pid)::integer,
                        pid_start = \(start)::bigint
                    WHERE node = \(node.raw) AND instance = \(holderInstance) RETURNING 1
                    """, logger: logger)
                for try await _ in taken.decode(Int.self) { return .claimed }
            }
            return .heldByAnother(heartbeatUntil: until, remaining: .milliseconds(max(0, remaining)))
        }
    }

    /// Claims the name (``attempt(holderIsGone:)``), waiting while another process's heartbeat lasts; `waiting` is
    /// told how long on every try (to log it once, and to extend a start timeout). Gives up when the other process
    /// renews its heartbeat.
    /// - Throws: ``NodeNameInUse`` when another live process holds the name.
    public func claim(holderIsGone: @escaping @Sendable (NodeProcess) -> Bool = { _ in false },
                      waiting: @Sendable (Duration) -> Void = { _ in }) async throws {
        var seen: Int64?
        while true {
            switch try await attempt(holderIsGone: holderIsGone) {
            case .claimed:
                return
            case .heldByAnother(let until, let remaining):
                if let seen, until > seen { throw NodeNameInUse(node: node.raw) }
                waiting(remaining)
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
