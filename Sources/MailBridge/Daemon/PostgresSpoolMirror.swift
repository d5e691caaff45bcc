// Security: hands accepted messages to PostgreSQL's shared spool (issue 21) and back. PostgresInboundSpool seals
// everything before it reaches the database; what comes back is written only into this node's private spool
// folder, as a message received over SMTP would be. Log lines carry queue IDs, counts and error codes only.

public import Foundation
public import Logging
import NIOConcurrencyHelpers
public import StorePostgres
import ThreadStore

/// The shared spool of several nodes on PostgreSQL (``PostgresInboundSpool``) as this node's ``SpoolMirror``.
public struct PostgresSpoolMirror: SpoolMirror {
    let spool: PostgresInboundSpool
    let logger: Logger
    /// Whether the last round left a held message unrestored (a full disk, a failing folder): then this node
    /// takes over nothing more, so that the messages of a stopped node go to a node that can hold them.
    private let restoreFailing = NIOLockedValueBox(false)

    public init(_ spool: PostgresInboundSpool, logger: Logger) {
        self.spool = spool
        self.logger = logger
    }

    /// A third of the lease: two renewals may fail before another node may take the messages over.
    public var renewInterval: Duration { spool.lease / 3 }

    public func record(_ queueID: QueueID, envelope: Data, messageFile: String) async throws {
        do {
            try await spool.record(queue: queueID.rawValue, envelope: envelope, messageFile: messageFile)
        } catch where PostgresDatabase.isUnavailable(error) {
            logger.warning("cannot reach the shared spool; message kept in this node's spool until it can",
                           metadata: ["queue": "\(queueID)", "error": "\(error)"])
            throw SpoolMirrorUnavailable(reason: "\(error)")
        } catch {
            logger.error("the shared spool refused the message", metadata: ["queue": "\(queueID)",
                                                                           "error": "\(error)"])
            throw error
        }
    }

    public func renew() async throws { try await spool.renewLeases() }

    public func release(_ queueID: QueueID) async throws {
        if try await !spool.release(queueID.rawValue) {
            // Another node took it over meanwhile (this node was away longer than its lease): both processed it,
            // and the store recognised the second as a repeat.
            logger.notice("a processed message was held by another node by then", metadata: ["queue": "\(queueID)"])
        }
    }

    public func locate(_ ids: [QueueID]) async throws -> [QueueID: SpoolCopyState] {
        var states: [QueueID: SpoolCopyState] = [:]
        for (queue, location) in try await spool.locate(ids.map(\.rawValue)) {
            guard let id = QueueID(queue) else { continue }
            switch location {
            case .here: states[id] = .mine
            case .elsewhere: states[id] = .elsewhere
            case .unusable: states[id] = .unusable
            }
        }
        return states
    }

    public func synchronize(_ local: SpoolIntake) async throws {
        try await spool.renewLeases()
        if !restoreFailing.withLockedValue({ $0 }) {
            let taken = try await spool.takeOverExpired()
            if taken > 0 {
                logger.notice("took over spooled messages of a node that stopped", metadata: ["count": "\(taken)"])
            }
        }
        var failing = false
        for entry in try await spool.held() where !entry.damaged {
            guard let id = QueueID(entry.queue) else {
                try await spool.markDamaged(entry.queue)
                continue
            }
            guard !local.contains(id) else { continue }
            do {
                try await local.restore(id) { write in try await spool.open(id.rawValue, write: write) }
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
            } catch where PostgresDatabase.isUnavailable(error) {
                throw error
            } catch {
                // This message only (gone meanwhile, a full disk): the others go on; tried again next round.
                failing = true
                logger.error("cannot restore a message from the shared spool; will retry",
                             metadata: ["queue": "\(id)", "error": "\(error)"])
            }
        }
        restoreFailing.withLockedValue { $0 = failing }
    }
}
