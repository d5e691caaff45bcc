// Security: the gauges' counts on PostgreSQL: aggregates of codes and times, nothing decrypted.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: GaugeStore {
    public func outboxDepth() async throws -> OutboxDepth {
        let logger = self.logger
        return try await database.read { connection in
            var depth = OutboxDepth()
            let rows = try await connection.query("SELECT kind, state, count(*) FROM outbox GROUP BY kind, state",
                                                  logger: logger)
            for try await (kind, state, count) in rows.decode((Int, Int, Int64).self) {
                // A kind or state this build does not know is left out, as on SQLite.
                guard let kind = OutboxKind(rawValue: kind), let state = OutboxState(rawValue: state) else { continue }
                depth.items[OutboxDepth.Key(kind: kind, state: state)] = Int(count)
            }
            let held = try await connection.query("SELECT count(*) FROM held_reply", logger: logger)
            for try await count in held.decode(Int64.self) { depth.heldReplies = Int(count) }
            return depth
        }
    }

    public func waitingThreadCounts(before cutoffs: [Date]) async throws -> [Int] {
        let logger = self.logger
        return try await database.read { connection in
            var counts: [Int] = []
            for cutoff in cutoffs {
                let rows = try await connection.query("""
                    SELECT count(*) FROM thread WHERE waiting_since IS NOT NULL
                        AND waiting_since < \(StoreTime.milliseconds(cutoff)) AND state <> \(ThreadState.closed.rawValue)
                    """, logger: logger)
                for try await count in rows.decode(Int64.self) { counts.append(Int(count)) }
            }
            return counts
        }
    }

    public func waitingThreadCountsByField(before cutoffs: [Date]) async throws -> [[CounsellingField: Int]] {
        let logger = self.logger
        return try await database.read { connection in
            var result: [[CounsellingField: Int]] = []
            for cutoff in cutoffs {
                var counts: [CounsellingField: Int] = [:]
                let rows = try await connection.query("""
                    SELECT field, count(*) FROM thread WHERE waiting_since IS NOT NULL
                        AND waiting_since < \(StoreTime.milliseconds(cutoff)) AND state <> \(ThreadState.closed.rawValue)
                    GROUP BY field
                    """, logger: logger)
                for try await (field, count) in rows.decode((String, Int64).self) {
                    counts[try CounsellingField(field)] = Int(count)
                }
                result.append(counts)
            }
            return result
        }
    }

    public func threadCountsByField() async throws -> [CounsellingField: Int] {
        let logger = self.logger
        return try await database.read { connection in
            var counts: [CounsellingField: Int] = [:]
            let rows = try await connection.query("SELECT field, count(*) FROM thread GROUP BY field", logger: logger)
            for try await (field, count) in rows.decode((String, Int64).self) {
                counts[try CounsellingField(field)] = Int(count)
            }
            return counts
        }
    }
}
