// Security: moves outbox rows between nodes. Recipient and payload arrive sealed (the caller seals them as
// ThreadStore does, with the thread's data key or the outbox key) and leave sealed: PostgreSQL only ever holds
// ciphertext, opaque IDs, codes and times. Node IDs are operator-chosen names, not personal data.

import Logging
import NIOCore
import PostgresNIO

/// The name a gateway node claims outbox rows under: 1 to 64 characters of `[A-Za-z0-9._-]`.
struct PostgresNodeID: Hashable, Sendable, CustomStringConvertible {
    let raw: String

    init?(_ raw: String) {
        guard (1...64).contains(raw.utf8.count),
              raw.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
                  || $0 == UInt8(ascii: "_") }) else { return nil }
        self.raw = raw
    }

    var description: String { raw }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
    }
}

/// An outbox row as stored: sealed recipient and payload, codes and store milliseconds.
struct PostgresOutboxRow: Sendable, Equatable {
    var id: String
    var threadID: String?
    var kind: Int
    var attempts: Int
    var nextAttemptAt: Int64
    var createdAt: Int64
    var recipientSealed: [UInt8]
    var payloadSealed: [UInt8]
}

/// The outbox on PostgreSQL, shared by several gateway nodes (issue 21): each due row is delivered by exactly one
/// node at a time through a lease.
///
/// - ``claim(node:now:leaseMilliseconds:limit:on:logger:)`` takes due rows that nobody holds, or whose lease ran
///   out (its node died mid-delivery), with `FOR UPDATE SKIP LOCKED`: two nodes claiming at the same moment never
///   wait for each other and never get the same row.
/// - ``markDelivered``, ``scheduleRetry`` and ``markFailed`` change a row only while the caller still holds its
///   lease, so a node whose lease was taken over cannot undo the new holder's work. The lease must therefore be
///   longer than one delivery attempt (`[smarthost] delivery-timeout-seconds`), or be renewed
///   (``renewLease(_:node:until:on:logger:)``) while the attempt runs: a lease that runs out during a slow
///   delivery lets a second node send the same mail.
///
/// Times are store milliseconds passed in by the caller (an injected clock), so tests control expiry.
enum PostgresOutbox {
    /// Queues a row (state pending, no lease).
    static func enqueue(_ row: PostgresOutboxRow, on connection: PostgresConnection, logger: Logger) async throws {
        let recipient = ByteBuffer(bytes: row.recipientSealed)
        let payload = ByteBuffer(bytes: row.payloadSealed)
        try await connection.query("""
            INSERT INTO outbox (id, thread_id, kind, state, attempts, next_attempt_at, created_at, payload_size,
                                recipient_sealed, payload_sealed)
            VALUES (\(row.id), \(row.threadID), \(row.kind), 0, \(row.attempts), \(row.nextAttemptAt),
                    \(row.createdAt), \(row.payloadSealed.count), \(recipient), \(payload))
            """, logger: logger)
    }

    /// Leases up to `limit` due rows to `node` until `now + leaseMilliseconds`, oldest due first.
    static func claim(
        node: PostgresNodeID, now: Int64, leaseMilliseconds: Int64, limit: Int, closedFields: [String] = [],
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [PostgresOutboxRow] {
        let until = now + leaseMilliseconds
        let rows = try await connection.query("""
            UPDATE outbox AS o SET lease_owner = \(node.raw), lease_until = \(until)
            FROM (SELECT id FROM outbox
                  WHERE state = 0 AND next_attempt_at <= \(now) AND (lease_until IS NULL OR lease_until <= \(now))
                    AND (thread_id IS NULL
                         OR thread_id NOT IN (SELECT id FROM thread WHERE field = ANY(\(closedFields))))
                  ORDER BY next_attempt_at, id
                  LIMIT \(limit)
                  FOR UPDATE SKIP LOCKED) AS due
            WHERE o.id = due.id
            RETURNING o.id, o.thread_id, o.kind, o.attempts, o.next_attempt_at, o.created_at,
                      o.recipient_sealed, o.payload_sealed
            """, logger: logger)
        var claimed: [PostgresOutboxRow] = []
        for try await (id, thread, kind, attempts, next, created, recipient, payload) in rows.decode(
            (String, String?, Int, Int, Int64, Int64, ByteBuffer, ByteBuffer).self)
        {
            claimed.append(PostgresOutboxRow(
                id: id, threadID: thread, kind: kind, attempts: attempts, nextAttemptAt: next, createdAt: created,
                recipientSealed: Array(buffer: recipient), payloadSealed: Array(buffer: payload)))
        }
        return claimed.sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
    }

    /// Extends `node`'s lease on a row; false when the node no longer holds it.
    static func renewLease(_ id: String, node: PostgresNodeID, until: Int64,
                           on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await changed(connection.query("""
            UPDATE outbox SET lease_until = \(until) WHERE id = \(id) AND lease_owner = \(node.raw)
            RETURNING id
            """, logger: logger))
    }

    /// Delivered: deletes the row if `node` holds its lease.
    static func markDelivered(_ id: String, node: PostgresNodeID,
                              on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await changed(connection.query(
            "DELETE FROM outbox WHERE id = \(id) AND lease_owner = \(node.raw) RETURNING id", logger: logger))
    }

    /// A temporary failure: counts the attempt, sets the next attempt time and releases the lease.
    static func scheduleRetry(_ id: String, node: PostgresNodeID, at next: Int64,
                              on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await changed(connection.query("""
            UPDATE outbox SET attempts = attempts + 1, next_attempt_at = \(next), lease_owner = NULL,
                              lease_until = NULL
            WHERE id = \(id) AND lease_owner = \(node.raw) AND state = 0
            RETURNING id
            """, logger: logger))
    }

    /// A permanent failure: counts the attempt, stops retrying and releases the lease.
    static func markFailed(_ id: String, node: PostgresNodeID,
                           on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await changed(connection.query("""
            UPDATE outbox SET attempts = attempts + 1, state = 1, lease_owner = NULL, lease_until = NULL
            WHERE id = \(id) AND lease_owner = \(node.raw)
            RETURNING id
            """, logger: logger))
    }

    private static func changed(_ rows: PostgresRowSequence) async throws -> Bool {
        var count = 0
        for try await _ in rows { count += 1 }
        return count > 0
    }
}
