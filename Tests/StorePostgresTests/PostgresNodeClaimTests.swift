import Foundation
import NIOConcurrencyHelpers
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// Two processes with one node name (issue 21), on a real PostgreSQL under the gateway's role: the second waits
/// for the first's heartbeat and refuses to start while it moves on; once it ran out the second takes the name and
/// the first learns it lost it; a gone holder of the same machine and boot is succeeded at once, no other one.
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

    /// A holder of this machine and boot that is gone is taken over at once, only then, and only that one: a live
    /// one, one of another boot (another machine, or before a reboot) and one that is not recorded are waited for.
    @Test func aGoneHolderOfThisBootIsTakenOverAtOnceAndNoOtherIs() async throws {
        let nodes = try await WebStateEngines.postgres(nodes: 2, masterKey: MasterKey.generate(), gatewayRole: true)
        let boot = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", otherBoot = "00000000-1111-2222-3333-444444444444"
        func claim(_ boot: String?, pid: Int32) throws -> PostgresNodeClaim {
            try PostgresNodeClaim(nodes.pools[0].database, node: "node-a", lease: .seconds(30),
                                  process: boot.map { NodeProcess(boot: $0, pid: pid, start: 1000 + Int64(pid)) },
                                  logger: PostgresTesting.logger)
        }
        let gone: @Sendable (NodeProcess) -> Bool = { $0.pid == 101 || $0.pid == 201 }
        let asked = NIOLockedValueBox<[NodeProcess]>([])
        let recording: @Sendable (NodeProcess) -> Bool = { process in
            asked.withLockedValue { $0.append(process) }
            return gone(process)
        }

        // Killed (pid 101, its heartbeat 30 s ahead): its successor on the same boot takes the name at once.
        let killed = try claim(boot, pid: 101)
        try await killed.claim()
        let successor = try claim(boot, pid: 102)
        let started = ContinuousClock.now
        try await successor.claim(holderIsGone: recording)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(asked.withLockedValue { $0 } == [NodeProcess(boot: boot, pid: 101, start: 1101)])
        #expect(try await killed.renew() == false)

        // The successor is alive: a third process of the same boot waits for it.
        guard case .heldByAnother = try await claim(boot, pid: 103).attempt(holderIsGone: gone) else {
            Issue.record("a live holder was taken over")
            return
        }
        // A holder of another boot is never asked about: its process ID means nothing here.
        try await successor.release()
        let elsewhere = try claim(otherBoot, pid: 201)
        try await elsewhere.claim()
        asked.withLockedValue { $0.removeAll() }
        guard case .heldByAnother = try await claim(boot, pid: 104).attempt(holderIsGone: recording) else {
            Issue.record("a holder of another boot was taken over")
            return
        }
        #expect(asked.withLockedValue { $0 }.isEmpty)
        // Nor is a holder that recorded no process, nor asked by a process that cannot tell its own.
        try await elsewhere.release()
        let unknown = try claim(nil, pid: 0)
        try await unknown.claim()
        guard case .heldByAnother = try await claim(boot, pid: 105).attempt(holderIsGone: recording) else {
            Issue.record("a holder without a recorded process was taken over")
            return
        }
        try await unknown.release()
        try await claim(boot, pid: 101).claim()
        guard case .heldByAnother = try await claim(nil, pid: 0).attempt(holderIsGone: recording) else {
            Issue.record("a process without a boot ID took a name over")
            return
        }
        #expect(asked.withLockedValue { $0 }.isEmpty)

        // The row records the holder's boot and process (released names above were free at once).
        let rows = try nodes.dump("gateway_node")
        #expect(rows.contains(boot) && rows.contains("101"), "\(rows)")
        _ = nodes
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
        #expect(throws: ThreadStoreError.invalidValue) {
            try PostgresNodeClaim(nodes.pools[0].database, node: "node-a", lease: .seconds(2),
                                  process: NodeProcess(boot: "not-a-boot-id", pid: 1, start: 1),
                                  logger: PostgresTesting.logger)
        }
    }
}
