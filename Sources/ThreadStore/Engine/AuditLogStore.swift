// Security: reads the audit log on any engine (issue 21) for `mailbridge audit`. The log holds no content by
// construction: event codes, opaque IDs, counts, times.

public import Foundation

/// The audit log read back, newest entries first in the query and returned oldest first.
/// ``ThreadStoreAuditLog`` reads the SQLite store; `PostgresThreads` (StorePostgres) the `audit` table of a
/// PostgreSQL database, with the same filter and order.
public protocol AuditLogStore: Sendable {
    /// ``ReadTransaction/latestAuditEntries(_:limit:)``: the newest `limit` (0…10 000) entries matching `filter`,
    /// oldest first.
    func latestAuditEntries(_ filter: AuditFilter, limit: Int) async throws -> [AuditEntry]
}

/// ``AuditLogStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreAuditLog: AuditLogStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func latestAuditEntries(_ filter: AuditFilter, limit: Int) async throws -> [AuditEntry] {
        try await store.read { tx in try tx.latestAuditEntries(filter, limit: limit) }
    }
}

extension AuditEntry {
    /// An entry from its stored columns (`audit` on either engine); a row this version cannot read (an unknown
    /// event, a malformed ID) is ``ThreadStoreError/databaseCorrupt``. An unknown channel code reads as none.
    public static func stored(sequence: Int64, atMilliseconds: Int64, event: Int, thread: String?, itemID: String?,
                              count: Int64?, actor: String?, channel: Int?, tokenID: String?)
        throws(ThreadStoreError) -> AuditEntry
    {
        guard let event = AuditEvent(rawValue: event) else { throw .databaseCorrupt }
        do {
            return AuditEntry(
                sequence: sequence, at: Date(storeMilliseconds: atMilliseconds), event: event,
                thread: try thread.map { try ThreadID($0) }, itemID: itemID, count: count.map { Int($0) },
                actor: try actor.map { try AccountID($0) },
                channel: channel.flatMap { AuditChannel(code: $0, tokenID: tokenID) })
        } catch {
            throw .databaseCorrupt
        }
    }
}
