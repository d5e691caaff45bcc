import Foundation
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// Two processes with one node name (issue 21), on a real PostgreSQL under the gateway's role: the second waits
/// for the first's heartbeat and refuses to start while it moves on; once it ran out the second takes the name and
/// the first learns it lost it; the data folder's next process succeeds its predecessor at once; a released name is
/// free at once.
@Suite struct PostgresNodeClaimTests {
    private func claims(_ count: Int, lease: Duration) async throws -> (PostgresNodes, [PostgresNodeClaim]) {
        let nodes = try await WebStateEngines.postgres(nodes: 2, masterKey: MasterKey.generate(), gatewayRole: true)
        let claims = try (0..<count).map { index in
            try PostgresNodeClaim(nodes.pools[index % 2].database, node: "node-a", lease: lease,
                                  logger: PostgresTesting.logger)
        }
        return (nodes, claims)
    }

    @Test func aLiveHolderIsNeitherTakenOverNorWaitedOutAndADeadOneIs() async throws {
        let (nodes, claims) = try await claims(2, lease: .seconds(2))
        let (first, second) = (claims[0], claims[1])
        #expect(first.instance != second.instance && PostgresNodeClaim.isInstance(first.instance))
        #expect(try await first.attempt() == .claimed)
        #expect(try await first.attempt() == .claimed)  // its own claim again
        guard case .heldByAnother(_, let remaining) = try await second.attempt() else {
            Issue.record("the second process took a live name")
            return
        }
        #expect(remaining > .zero && remaining <= .seconds(2))
        #expect(try await first.renew())

        // The first keeps renewing: the second gives up once it sees the heartbeat move on.
        let renewing = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(300))
                _ = try await first.renew()
            }
        }
        let started = ContinuousClock.now
        await #expect(throws: NodeNameInUse(node: "node-a")) { try await second.claim() }
        #expect(ContinuousClock.now - started < .seconds(3))
        renewing.cancel()
        _ = await renewing.result  // no renewal in flight any more

        // The first stops renewing (killed, or paused): the second waits its heartbeat out and takes the name;
        // the first, should it come back, learns that it lost it.
        let waited = ContinuousClock.now
        try await second.claim()
        #expect(ContinuousClock.now - waited >= .milliseconds(1000))
        #expect(try await first.renew() == false)
        #expect(try await second.renew())
        #expect("\(NodeNameInUse(node: "node-a"))".contains("give each node its own [store] node-id"))
        _ = nodes
    }

    @Test func theSameDataFoldersNextProcessSucceedsItsPredecessorAtOnce() async throws {
        let (nodes, claims) = try await claims(3, lease: .seconds(30))
        let (killed, next, stranger) = (claims[0], claims[1], claims[2])
        try await killed.claim()
        // Its heartbeat lasts 30 s more; the next process of its data folder names it and does not wait.
        let started = ContinuousClock.now
        try await next.claim(succeeding: killed.instance)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try await killed.renew() == false)
        // A process naming a token that does not hold the name gains nothing by it.
        guard case .heldByAnother = try await stranger.attempt(succeeding: killed.instance) else {
            Issue.record("a stale predecessor token took a live name")
            return
        }
        guard case .heldByAnother = try await stranger.attempt(succeeding: "not a token") else {
            Issue.record("a malformed predecessor token took a live name")
            return
        }
        // Released at a clean stop: free at once, and the released process's renewal fails.
        try await next.release()
        try await stranger.claim()
        #expect(try await next.renew() == false)
        let rows = try nodes.dump("gateway_node")
        #expect(rows.contains(stranger.instance) && !rows.contains(next.instance), "\(rows)")
    }

    @Test func aMalformedTokenOrNodeNameIsRefused() async throws {
        let (nodes, _) = try await claims(0, lease: .seconds(2))
        #expect(throws: ThreadStoreError.invalidValue) {
            try PostgresNodeClaim(nodes.pools[0].database, node: "node-a", lease: .seconds(2), instance: "ABC",
                                  logger: PostgresTesting.logger)
        }
        #expect(throws: ThreadStoreError.invalidValue) {
            try PostgresNodeClaim(nodes.pools[0].database, node: "node a", lease: .seconds(2),
                                  logger: PostgresTesting.logger)
        }
    }
}
