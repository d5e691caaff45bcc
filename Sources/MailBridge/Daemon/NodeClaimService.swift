// Security: the daemon's hold on its PostgreSQL node name (issue 21, ``PostgresNodeClaim``). Two processes with one
// `[store] node-id` would take each other's outbox leases and spool rows for their own and deliver and process
// mail twice: the second waits for the first's heartbeat, refuses to start while it moves on, and a process whose
// name was taken over (its heartbeat ran out: paused, or cut off from the database) stops. Logs the node name only.

public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle
public import StorePostgres

/// Claims the node name at start (``claim(_:logger:)``), renews it every third of its lease while the daemon runs
/// (at once when it starts, and every 2 s after a failed renewal), and releases it at a clean stop, after every
/// service that holds leases under the name has stopped.
public final class NodeClaimService: Service, Sendable {
    let claim: PostgresNodeClaim
    let logger: Logger
    /// How soon a failed renewal is tried again.
    static let retryInterval = Duration.seconds(2)

    init(_ claim: PostgresNodeClaim, logger: Logger) {
        self.claim = claim
        self.logger = logger
    }

    /// Claims `claim`'s name for this process. A holder that ran on this machine in this boot and is gone (killed,
    /// crashed: ``ProcessIdentity/isGone(_:)``) is not waited for; any other holder is, and a holder whose heartbeat
    /// moves on meanwhile is a second live process: ``NodeNameInUse``.
    static func claim(_ claim: PostgresNodeClaim, logger: Logger) async throws {
        let told = NIOLockedValueBox(false)
        try await claim.claim(holderIsGone: ProcessIdentity.isGone) { remaining in
            if !told.exchange(true) {
                logger.notice("another process holds this node-id; waiting for its heartbeat to run out",
                              metadata: ["node-id-seconds-left": "\(remaining.components.seconds + 1)"])
            }
            // Under systemd (Type=notify) the wait may exceed the unit's start timeout (lease-seconds up to 3600);
            // the rest of the start-up gets another 90 s.
            try? SystemdNotifier().notify(.status("waiting for the node-id's earlier holder"),
                                          .extendTimeout(remaining + .seconds(90)))
        }
        logger.notice("node-id claimed")
    }

    public func run() async throws {
        let lost: Bool = await {
            do {
                return try await cancelWhenGracefulShutdown {
                    var delay = Duration.zero  // renewed at once: the start-up after the claim took time
                    while !Task.isCancelled {
                        try await Task.sleep(for: delay)
                        do {
                            if try await !self.claim.renew() { return true }
                            delay = self.claim.lease / 3
                        } catch is CancellationError {
                            return false
                        } catch {
                            self.logger.error("cannot renew this node's claim on its node-id; will retry",
                                              metadata: ["error": "\(error)"])
                            delay = Self.retryInterval
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
        guard !Task.isCancelled else { return }  // cancelled, not stopped cleanly: nothing to release with
        do { try await claim.release() } catch {
            logger.warning("cannot release the node-id; a process started next waits for its heartbeat",
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
