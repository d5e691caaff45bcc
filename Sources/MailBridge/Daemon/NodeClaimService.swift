// Security: the daemon's hold on its PostgreSQL node name (issue 21, ``PostgresNodeClaim``). Two processes with one
// `[store] node-id` would take each other's outbox leases and spool rows for their own and deliver and process
// mail twice: the second waits for the first's heartbeat, refuses to start while it moves on, and a process whose
// name was taken over (its heartbeat ran out: paused, or cut off from the database) stops. Logs the node name only.

public import Foundation
public import Logging
public import ServiceLifecycle
public import StorePostgres

/// Claims the node name at start (``claim(_:dataFolder:logger:)``), renews it every third of its lease while the
/// daemon runs, and releases it at a clean stop.
public final class NodeClaimService: Service, Sendable {
    let claim: PostgresNodeClaim
    let logger: Logger

    init(_ claim: PostgresNodeClaim, logger: Logger) {
        self.claim = claim
        self.logger = logger
    }

    /// `<data>/node-instance`: the token of the last process that claimed the name from this data folder.
    static func tokenFile(_ dataFolder: URL) -> URL { dataFolder.appending(path: "node-instance") }

    /// Claims `claim`'s name for this process. The previous process of the same data folder (its token in
    /// ``tokenFile(_:)``) is gone, as the caller holds the data folder's exclusive claim on the GnuPG home: its
    /// heartbeat is not waited for. Any other holder is, and a holder whose heartbeat moves on meanwhile is a second
    /// live process: ``NodeNameInUse``.
    static func claim(_ claim: PostgresNodeClaim, dataFolder: URL, logger: Logger) async throws {
        let file = tokenFile(dataFolder)
        let previous = (try? String(contentsOf: file, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try POSIXFile.writeDurably(Data((claim.instance + "\n").utf8), temporary: file.path + ".tmp",
                                   final: file.path)
        try await claim.claim(succeeding: previous) { remaining in
            logger.notice("another process held this node-id; waiting for its heartbeat to run out",
                          metadata: ["node-id-seconds-left": "\(remaining.components.seconds + 1)"])
            // Under systemd (Type=notify) the wait may exceed the unit's start timeout (lease-seconds up to 3600).
            try? SystemdNotifier().notify(.status("waiting for node-id's earlier holder"),
                                          .extendTimeout(remaining + .seconds(10)))
        }
        logger.notice("node-id claimed")
    }

    public func run() async throws {
        let interval = claim.lease / 3
        let lost: Bool = await {
            do {
                return try await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        try await Task.sleep(for: interval)
                        do {
                            if try await !self.claim.renew() { return true }
                        } catch is CancellationError {
                            return false
                        } catch {
                            self.logger.error("cannot renew this node's claim on its node-id; will retry",
                                              metadata: ["error": "\(error)"])
                        }
                    }
                    return false
                }
            } catch {
                return false
            }
        }()
        if lost {
            logger.critical("another process took over this node-id after this one's heartbeat ran out; stopping")
            throw NodeNameLost()
        }
        do { try await claim.release() } catch {
            logger.warning("cannot release the node-id; a restart waits for its heartbeat",
                           metadata: ["error": "\(error)"])
        }
    }
}

/// This process's node name was claimed by another process (its heartbeat ran out): the daemon stops.
public struct NodeNameLost: Error, Sendable, CustomStringConvertible {
    public init() {}

    public var description: String {
        "another gateway process took over this node-id after this one's heartbeat ran out; stopped"
    }
}
