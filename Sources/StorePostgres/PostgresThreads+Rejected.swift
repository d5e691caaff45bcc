// Security: the rejected encrypted messages kept sealed (issue 28) on PostgreSQL (issue 21), as
// WriteTransaction+Rejected.swift keeps them on SQLite: the list reads clear columns only (ID, reason, time,
// size); a message is opened only for `reinject`; every deletion by an administrator is audited.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: RejectedMessageStore {
    public func listRejected(limit: Int) async throws -> [RejectedEntry] {
        let logger = self.logger
        let limit = Int64(max(0, limit))
        return try await database.read { connection in
            let found = try await connection.query("""
                SELECT id, reason, rejected_at, size FROM rejected_message ORDER BY rejected_at, id LIMIT \(limit)
                """, logger: logger)
            var entries: [RejectedEntry] = []
            for try await (id, reason, at, size) in found.decode((String, Int32, Int64, Int64).self) {
                entries.append(RejectedEntry(id: id, reason: Int(reason), rejectedAt: StoreTime.date(at),
                                             size: Int(size)))
            }
            return entries
        }
    }

    public func openRejected(_ id: String) async throws -> RejectedMessage? {
        let logger = self.logger
        let row = try await database.read { connection in
            let found = try await connection.query("""
                SELECT reason, rejected_at, sealed_envelope, sealed_message FROM rejected_message WHERE id = \(id)
                """, logger: logger)
            var row: (Int32, Int64, Data, Data)?
            for try await values in found.decode((Int32, Int64, Data, Data).self) { row = values }
            return row
        }
        guard let (reason, at, envelope, message) = row else { return nil }
        return try secrets.openRejected(id: id, reason: Int(reason), rejectedAt: StoreTime.date(at),
                                        sealedEnvelope: envelope, sealedMessage: message)
    }

    public func deleteRejected(_ id: String, reinjected: Bool) async throws -> Bool {
        try await database.write { connection in
            let rows = rows(connection)
            let deleted = try await PostgresAccountRows.changed(connection.query(
                "DELETE FROM rejected_message WHERE id = \(id) RETURNING id", logger: rows.logger))
            guard deleted == 1 else { return false }
            try await rows.audit(reinjected ? .rejectedMessageReinjected : .rejectedMessageDeleted, thread: nil,
                                 itemID: id)
            return true
        }
    }
}
