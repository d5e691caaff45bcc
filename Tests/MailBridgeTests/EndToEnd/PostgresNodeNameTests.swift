import Foundation
import Logging
@testable import MailBridge
import PGPShim
import ServiceLifecycle
import StorePostgres
import TestSupport
import Testing

/// Issue 21: two gateway processes configured with one `[store] node-id` never run at once. They would take each
/// other's outbox leases and spool rows for their own and deliver and process mail twice. The daemon's start
/// (``OpenedInstallation/open(_:claimingHome:logger:)`` with the claim, as `serve` runs it) on a second data folder
/// refuses while the first process renews its heartbeat, and succeeds at once after the first stopped cleanly;
/// the next process of a data folder whose process was killed does not wait for the killed one's heartbeat.
@Suite(.serialized) struct PostgresNodeNameTests {
    @Test(.timeLimit(.minutes(3))) func aSecondLiveProcessUnderOneNodeIDIsRefused() async throws {
        let setUp = try await SharedGatewayKeysTests.TwoNodes()
        defer { setUp.remove() }
        var first = setUp.a, second = setUp.b
        first.store.postgresql?.leaseSeconds = 10
        second.store.postgresql?.nodeID = "node-a"
        second.store.postgresql?.leaseSeconds = 10

        // The first process claims the name and renews it while it runs, as `serve` does.
        let running = try await OpenedInstallation.open(first, claimingHome: true, logger: setUp.logs.logger("a"))
        let claim = try #require(running.nodeClaim)
        let group = ServiceGroup(services: [NodeClaimService(claim, logger: setUp.logs.logger("a-claim"))],
                                 logger: setUp.logs.logger("a-group"))
        let serving = Task { try await group.run() }

        // A second data folder under the same name: refused once it saw the heartbeat move on.
        let started = ContinuousClock.now
        let refused = await #expect(throws: NodeNameInUse.self) {
            _ = try await OpenedInstallation.open(second, claimingHome: true, logger: setUp.logs.logger("b"))
        }
        #expect(ContinuousClock.now - started < .seconds(8))
        #expect("\(refused.map { "\($0)" } ?? "")".contains("node-a"))
        #expect(setUp.logs.all.contains { $0.contains("waiting for its heartbeat to run out") })

        // The first stops cleanly (its claim released last): the second starts at once.
        await group.triggerGracefulShutdown()
        try await serving.value
        running.homeClaim?.release()
        await running.close()
        let quick = ContinuousClock.now
        let next = try await OpenedInstallation.open(second, claimingHome: true, logger: setUp.logs.logger("b2"))
        #expect(ContinuousClock.now - quick < .seconds(3))
        #expect(try holder(setUp.database) == next.nodeClaim?.instance)

        // Killed (nothing released, its heartbeat lasts 10 s more): the next process of the same data folder
        // succeeds it at once.
        let token = try String(contentsOf: NodeClaimService.tokenFile(next.dataFolder), encoding: .utf8)
        #expect(token.trimmingCharacters(in: .whitespacesAndNewlines) == next.nodeClaim?.instance)
        next.homeClaim?.release()
        await next.close()
        let restart = ContinuousClock.now
        let restarted = try await OpenedInstallation.open(second, claimingHome: true,
                                                          logger: setUp.logs.logger("b3"))
        #expect(ContinuousClock.now - restart < .seconds(3))
        #expect(try holder(setUp.database) == restarted.nodeClaim?.instance)
        #expect(try await restarted.nodeClaim!.renew())
        restarted.homeClaim?.release()
        await restarted.close()
    }

    /// The token of the process that holds `node-a`.
    func holder(_ database: TestDatabase) throws -> String {
        try database.server.psql("SELECT instance FROM gateway_node WHERE node = 'node-a'", database: database.name)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
