// Security: the spool shared by the nodes of one database (issue 21, docs/postgresql.md "The spool with several
// nodes"). Every accepted message, plain mail included, is written here before the `250`, so rows hold only what
// StoreSecrets+Spool.swift seals (the envelope, and the message in pieces bound to their queue ID, index and end),
// the queue ID (random), the node name, sizes and times. Pieces are read and opened one at a time, so no copy of
// a whole large message is held here. Nothing opened is logged; errors carry SQLSTATE codes only.

public import Foundation
public import Logging
import NIOCore
import PostgresNIO
public import ThreadStore

/// Where a spooled message's row is, as ``PostgresInboundSpool/locate(_:)`` finds it.
public enum SpoolRowLocation: Sendable, Hashable {
    /// Held by this node.
    case here
    /// Held by another node, under a plausible lease.
    case elsewhere
    /// Marked damaged, or held under a lease no node sets.
    case unusable
}

/// A spooled message this node holds, as listed by ``PostgresInboundSpool/held()``.
public struct HeldSpoolEntry: Sendable, Hashable, CustomStringConvertible {
    public let queue: String
    /// The message's size in octets.
    public let size: Int64
    /// True once a node found it does not open (``PostgresInboundSpool/markDamaged(_:)``); it is kept, not retried.
    public let damaged: Bool

    public var description: String { "HeldSpoolEntry(\(queue), \(size) octets\(damaged ? ", damaged" : ""))" }
}

/// A row of the shared spool that a node found does not open (``PostgresInboundSpool/markDamaged(_:)``).
public struct DamagedSpoolEntry: Sendable, Hashable, CustomStringConvertible {
    public let queue: String
    /// The node that held it when it was marked.
    public let node: String
    public let acceptedAtMilliseconds: Int64
    /// The size its row states, in octets.
    public let size: Int64

    public var description: String { "DamagedSpoolEntry(\(queue), node \(node), \(size) octets)" }
}

/// The inbound spool every node of one database shares: a node writes each message it accepts here (sealed) before
/// it answers `250`, keeps a working copy in its own spool folder, and deletes the row once the message is
/// processed. Each row is held by one node through a lease on the database's clock: the node renews it while it
/// runs; when the node dies (or its machine is lost) the lease runs out and another node takes the row over, opens
/// it into its own spool folder and processes it.
///
/// ```swift
/// let spool = try await PostgresInboundSpool.open(database, masterKey: key, node: "node-a", lease: .seconds(60),
///                                                 logger: logger)
/// try await spool.record(queue: id, envelope: json, messageFile: path)       // before the 250
/// _ = try await spool.takeOverExpired()                                      // another node's, its lease run out
/// for entry in try await spool.held() { let envelope = try await spool.open(entry.queue) { piece in … } }
/// _ = try await spool.release(id)                                            // processed
/// ```
public final class PostgresInboundSpool: Sendable {
    let database: PostgresDatabase
    let secrets: StoreSecrets
    let node: PostgresNodeID
    /// How long a node holds its rows without renewing them.
    public let lease: Duration
    let logger: Logger
    /// The plaintext length of each piece but the last.
    public static let pieceLength = 1 << 20
    /// The largest envelope accepted (its JSON): a few hundred recipients at most.
    static let maximumEnvelope = 64 * 1024

    init(database: PostgresDatabase, secrets: StoreSecrets, node: PostgresNodeID, lease: Duration, logger: Logger) {
        self.database = database
        self.secrets = secrets
        self.node = node
        self.lease = lease
        self.logger = logger
    }

    /// Checks the master key against the database and names this node (as ``PostgresOutboxQueue/open``).
    /// - Throws: ``ThreadStoreError/invalidValue``; ``ThreadStoreError/wrongMasterKey``.
    public static func open(_ database: PostgresDatabase, masterKey: MasterKey, node: String, lease: Duration,
                            logger: Logger) async throws -> PostgresInboundSpool {
        let id = try PostgresOutboxQueue.nodeID(node, lease: lease)
        let state = try await PostgresWebState.open(database, masterKey: masterKey, logger: logger)
        return PostgresInboundSpool(database: database, secrets: state.secrets, node: id, lease: lease,
                                    logger: logger)
    }

    var leaseMilliseconds: Int64 { lease.storedMilliseconds }

    /// The database's clock in milliseconds, in SQL.
    static let databaseNow = "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT"

    /// Stores message `queue` (its queue ID) sealed, with `envelope` (the spool's envelope record) and the
    /// content of the file at `messageFile`, read and sealed one piece at a time, in one transaction held by this
    /// node. When it returns, the message is as durable as the database's commits.
    /// - Throws: ``ThreadStoreError/invalidValue`` for an empty queue ID or an envelope over 64 KiB, or when the
    ///   file changes while it is read. A queue ID recorded before is left as it is (recording again after a lost
    ///   answer is safe).
    public func record(queue: String, envelope: Data, messageFile: String) async throws {
        guard !queue.isEmpty, queue.utf8.count <= 64, envelope.count <= Self.maximumEnvelope else {
            throw ThreadStoreError.invalidValue
        }
        let (secrets, node, logger, lease) = (self.secrets, self.node, self.logger, leaseMilliseconds)
        let sealedEnvelope = try secrets.sealSpooled(envelope, queue: queue, part: .envelope)
        try await database.write { connection in
            // Opened again on every attempt: a serialization failure runs this body again from the start.
            guard let file = FileHandle(forReadingAtPath: messageFile) else { throw ThreadStoreError.invalidValue }
            defer { try? file.close() }
            let size = Int64(try file.seekToEnd())
            try file.seek(toOffset: 0)
            let pieces = Int((size + Int64(Self.pieceLength) - 1) / Int64(Self.pieceLength))
            let inserted = try await connection.query("""
                INSERT INTO inbound_spool (queue_id, node, lease_until, accepted_at, size, pieces, envelope_sealed)
                VALUES (\(queue), \(node.raw), \(unescaped: Self.databaseNow) + \(lease), \(unescaped: Self.databaseNow),
                        \(size), \(pieces), \(ByteBuffer(bytes: sealedEnvelope)))
                ON CONFLICT (queue_id) DO NOTHING RETURNING 1
                """, logger: logger)
            var new = false
            for try await _ in inserted.decode(Int.self) { new = true }
            // Recorded before (a commit whose answer was lost): queue IDs are random, so it is this message.
            guard new else { return }
            var read: Int64 = 0
            for index in 0..<pieces {
                var piece = try file.read(upToCount: Self.pieceLength) ?? Data()
                defer { piece.resetBytes(in: piece.startIndex..<piece.endIndex) }
                read += Int64(piece.count)
                let last = index == pieces - 1
                guard piece.count == Self.pieceLength || (last && !piece.isEmpty) else {
                    throw ThreadStoreError.invalidValue
                }
                let sealed = try secrets.sealSpooled(piece, queue: queue, part: .piece(index: index, last: last))
                try await connection.query("""
                    INSERT INTO inbound_spool_piece (queue_id, piece, sealed)
                    VALUES (\(queue), \(index), \(ByteBuffer(bytes: sealed)))
                    """, logger: logger)
            }
            guard read == size, (try file.read(upToCount: 1) ?? Data()).isEmpty else {
                throw ThreadStoreError.invalidValue
            }
        }
    }

    /// Extends this node's leases by ``lease`` from now. Returns how many rows it holds.
    @discardableResult
    public func renewLeases() async throws -> Int {
        let (node, logger, lease) = (self.node, self.logger, leaseMilliseconds)
        return try await database.write { connection in
            let rows = try await connection.query("""
                UPDATE inbound_spool SET lease_until = \(unescaped: Self.databaseNow) + \(lease)
                WHERE node = \(node.raw) RETURNING 1
                """, logger: logger)
            var count = 0
            for try await _ in rows.decode(Int.self) { count += 1 }
            return count
        }
    }

    /// Takes over up to `limit` rows whose lease ran out (their node stopped renewing: it died, or lost the
    /// database for longer than the lease), oldest first, without waiting for rows another node is taking at the
    /// same moment (`FOR UPDATE SKIP LOCKED`). Returns how many it took.
    @discardableResult
    public func takeOverExpired(limit: Int = 20) async throws -> Int {
        guard limit > 0, limit <= 1000 else { throw ThreadStoreError.limitExceeded }
        let (node, logger, lease) = (self.node, self.logger, leaseMilliseconds)
        return try await database.write { connection in
            let rows = try await connection.query("""
                UPDATE inbound_spool SET node = \(node.raw), lease_until = \(unescaped: Self.databaseNow) + \(lease)
                WHERE queue_id IN (
                    SELECT queue_id FROM inbound_spool
                    WHERE lease_until < \(unescaped: Self.databaseNow) AND NOT damaged
                    ORDER BY accepted_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """, logger: logger)
            var count = 0
            for try await _ in rows.decode(Int.self) { count += 1 }
            return count
        }
    }

    /// The rows this node holds, oldest first.
    public func held() async throws -> [HeldSpoolEntry] {
        let (node, logger) = (self.node, self.logger)
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT queue_id, size, damaged FROM inbound_spool WHERE node = \(node.raw) ORDER BY accepted_at
                """, logger: logger)
            var held: [HeldSpoolEntry] = []
            for try await (queue, size, damaged) in rows.decode((String, Int64, Bool).self) {
                held.append(HeldSpoolEntry(queue: queue, size: size, damaged: damaged))
            }
            return held
        }
    }

    /// Where the rows of `queues` are, as this node may trust it: held by this node, by another node, or
    /// unusable (marked damaged, or held by another node with a lease further ahead than any node sets: an altered
    /// row). A queue ID without a row is absent: it was processed (or never recorded).
    public func locate(_ queues: [String]) async throws -> [String: SpoolRowLocation] {
        guard !queues.isEmpty else { return [:] }
        let (node, logger) = (self.node, self.logger)
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT queue_id, node = \(node.raw), damaged,
                       lease_until > \(unescaped: Self.databaseNow) + \(Self.longestLeaseMilliseconds)
                FROM inbound_spool WHERE queue_id = ANY(\(queues))
                """, logger: logger)
            var found: [String: SpoolRowLocation] = [:]
            for try await (queue, mine, damaged, implausible) in rows.decode((String, Bool, Bool, Bool).self) {
                found[queue] = damaged || (!mine && implausible) ? .unusable : mine ? .here : .elsewhere
            }
            return found
        }
    }

    /// The longest lease any node sets (`[store] lease-seconds` is at most 3600), with a minute for clocks.
    static let longestLeaseMilliseconds: Int64 = 3_660_000

    /// Opens message `queue`: hands each opened piece to `write` with its offset in the message, in order (then
    /// wipes it), and returns the opened envelope. Every piece must open at its own index, the last one marked
    /// last, and the sizes must add up. Should the read be run again, the pieces come again from offset 0.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when a value does not open or pieces are missing;
    ///   ``ThreadStoreError/threadNotFound`` when the row is gone.
    public func open(_ queue: String, write: @Sendable (_ offset: Int64, _ piece: Data) throws -> Void) async throws -> Data {
        let (secrets, logger) = (self.secrets, self.logger)
        return try await database.read { connection in
            let heads = try await connection.query("""
                SELECT size, pieces, envelope_sealed FROM inbound_spool WHERE queue_id = \(queue)
                """, logger: logger)
            var head: (Int64, Int, Data)?
            for try await row in heads.decode((Int64, Int, Data).self) { head = row }
            guard let (size, pieces, sealedEnvelope) = head else { throw ThreadStoreError.threadNotFound }
            let envelope = try secrets.openSpooled(sealedEnvelope, queue: queue, part: .envelope)
            var written: Int64 = 0
            var expected = 0
            // One piece per statement: the driver would otherwise buffer rows ahead of this loop.
            while expected < pieces {
                let found = try await connection.query("""
                    SELECT sealed FROM inbound_spool_piece WHERE queue_id = \(queue) AND piece = \(expected)
                    """, logger: logger)
                var sealed: Data?
                for try await value in found.decode(Data.self) { sealed = value }
                guard let sealed else { throw ThreadStoreError.unsealingFailed }
                var piece = try secrets.openSpooled(sealed, queue: queue,
                                                    part: .piece(index: expected, last: expected == pieces - 1))
                defer { piece.resetBytes(in: piece.startIndex..<piece.endIndex) }
                try write(written, piece)
                written += Int64(piece.count)
                expected += 1
            }
            guard written == size else { throw ThreadStoreError.unsealingFailed }
            return envelope
        }
    }

    /// Marks `queue` as not opening: kept (nothing is deleted that might be recovered) but no longer taken over.
    public func markDamaged(_ queue: String) async throws {
        let logger = self.logger
        try await database.write { connection in
            try await connection.query("UPDATE inbound_spool SET damaged = true WHERE queue_id = \(queue)",
                                       logger: logger)
        }
    }

    /// Deletes `queue` (its pieces with it) if this node still holds it: the message was processed. Returns false
    /// when another node holds it now or it is gone.
    @discardableResult
    public func release(_ queue: String) async throws -> Bool {
        let (node, logger) = (self.node, self.logger)
        return try await database.write { connection in
            let rows = try await connection.query("""
                DELETE FROM inbound_spool WHERE queue_id = \(queue) AND node = \(node.raw) RETURNING 1
                """, logger: logger)
            var deleted = false
            for try await _ in rows.decode(Int.self) { deleted = true }
            return deleted
        }
    }

    /// The rows marked damaged, on every node, oldest first: what `mailbridge spool list` names so that an
    /// administrator can delete them (``deleteDamaged(_:)``). Clear columns only; deleted ones are not listed.
    public func damaged() async throws -> [DamagedSpoolEntry] {
        let logger = self.logger
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT queue_id, node, accepted_at, size FROM inbound_spool WHERE damaged AND removed_at IS NULL
                ORDER BY accepted_at, queue_id
                """, logger: logger)
            var damaged: [DamagedSpoolEntry] = []
            for try await (queue, node, acceptedAt, size) in rows.decode((String, String, Int64, Int64).self) {
                damaged.append(DamagedSpoolEntry(queue: queue, node: node, acceptedAtMilliseconds: acceptedAt,
                                                 size: size))
            }
            return damaged
        }
    }

    /// How long a deleted damaged row stays as a tombstone.
    static let tombstoneMilliseconds: Int64 = 30 * 86_400_000

    /// Deletes the pieces of row `queue` if it is marked damaged and keeps the row as a tombstone for 30 days: a
    /// node that left its local copy waiting because another node held this row ("handed over") would take the
    /// row's absence for "processed elsewhere" and drop its copy; a tombstone is unusable, so it processes the
    /// copy. Tombstones older than 30 days are deleted. Returns false when there is no such row, it is not
    /// damaged (a waiting message is never deleted this way), or it was deleted before.
    public func deleteDamaged(_ queue: String) async throws -> Bool {
        let logger = self.logger
        return try await database.write { connection in
            let rows = try await connection.query("""
                UPDATE inbound_spool SET removed_at = \(unescaped: Self.databaseNow)
                WHERE queue_id = \(queue) AND damaged AND removed_at IS NULL RETURNING 1
                """, logger: logger)
            var deleted = false
            for try await _ in rows.decode(Int.self) { deleted = true }
            guard deleted else { return false }
            try await connection.query("DELETE FROM inbound_spool_piece WHERE queue_id = \(queue)", logger: logger)
            try await connection.query("""
                DELETE FROM inbound_spool
                WHERE removed_at < \(unescaped: Self.databaseNow) - \(Self.tombstoneMilliseconds)
                """, logger: logger)
            return true
        }
    }

    /// How many messages wait in the shared spool, on every node, and how many of them are damaged.
    public func counts() async throws -> (waiting: Int, damaged: Int) {
        let logger = self.logger
        return try await database.read { connection in
            let rows = try await connection.query("""
                SELECT count(*), count(*) FILTER (WHERE damaged) FROM inbound_spool WHERE removed_at IS NULL
                """, logger: logger)
            for try await (waiting, damaged) in rows.decode((Int, Int).self) { return (waiting, damaged) }
            return (0, 0)
        }
    }
}
