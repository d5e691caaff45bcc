// Security: hands accepted messages to PostgreSQL's shared spool (issue 21) and back. PostgresInboundSpool seals
// everything before it reaches the database; what comes back is written only into this node's private spool
// folder, as a message received over SMTP would be. Log lines carry queue IDs and counts only.

public import Foundation
public import Logging
public import StorePostgres
import ThreadStore

/// The shared spool of several nodes on PostgreSQL (``PostgresInboundSpool``) as this node's ``SpoolMirror``.
public struct PostgresSpoolMirror: SpoolMirror {
    let spool: PostgresInboundSpool
    let logger: Logger

    public init(_ spool: PostgresInboundSpool, logger: Logger) {
        self.spool = spool
        self.logger = logger
    }

    /// A third of the lease: two renewals may fail before another node may take the messages over.
    public var renewInterval: Duration { spool.lease / 3 }

    public func record(_ queueID: QueueID, envelope: Data, messageFile: String) async throws {
        do {
            try await spool.record(queue: queueID.rawValue, envelope: envelope, messageFile: messageFile)
        } catch {
            logger.warning("cannot record the message in the shared spool; kept in this node's spool until it can",
                           metadata: ["queue": "\(queueID)", "error": "\(error)"])
            throw error
        }
    }

    public func renew() async throws { try await spool.renewLeases() }

    public func release(_ queueID: QueueID) async throws { try await spool.release(queueID.rawValue) }

    public func synchronize(_ local: SpoolIntake, local ids: [QueueID]) async throws -> Set<QueueID> {
        try await spool.renewLeases()
        let taken = try await spool.takeOverExpired()
        if taken > 0 {
            logger.notice("took over spooled messages of a node that stopped", metadata: ["count": "\(taken)"])
        }
        for entry in try await spool.held() where !entry.damaged {
            guard let id = QueueID(entry.queue), !local.contains(id) else { continue }
            do {
                try await restore(id, into: local)
                logger.notice("spooled message restored from the shared spool", metadata: ["queue": "\(id)"])
            } catch let error as ThreadStoreError where error == .unsealingFailed {
                // It does not open (altered, or sealed under another master key): kept, and no longer retried.
                logger.error("a message in the shared spool does not open; kept and marked damaged",
                             metadata: ["queue": "\(id)"])
                try await spool.markDamaged(entry.queue)
            } catch let error as SpoolError where error.code == .corruptEnvelope {
                logger.error("a message in the shared spool has a foreign envelope; kept and marked damaged",
                             metadata: ["queue": "\(id)"])
                try await spool.markDamaged(entry.queue)
            }
        }
        let elsewhere = try await spool.heldElsewhere(ids.map(\.rawValue))
        return Set(elsewhere.compactMap(QueueID.init))
    }

    /// Opens `id` from the database into `local`'s `incoming`, one piece at a time.
    private func restore(_ id: QueueID, into local: SpoolIntake) async throws {
        try await local.restore(id) { write in try await spool.open(id.rawValue, write: write) }
    }
}
