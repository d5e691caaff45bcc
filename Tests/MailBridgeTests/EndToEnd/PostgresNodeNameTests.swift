import Foundation
@testable import MailBridge
import TestSupport
import Testing

/// Issue 21: two `mailbridge serve` processes configured with one `[store] node-id` never run at once. They would
/// take each other's outbox leases and spool rows for their own and deliver and process mail twice. With a 10 s
/// lease: a second process on another data folder refuses to start (exit status 1, the reason on standard error)
/// while the first renews its heartbeat; the first, killed with `kill -9`, starts again at once (it was this
/// machine's, in this boot, and is gone); stopped with SIGTERM it releases the name, and the other starts at once.
@Suite(.serialized) struct PostgresNodeNameTests {
    @Test(.timeLimit(.minutes(3))) func aSecondLiveProcessUnderOneNodeIDIsRefused() async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product first")
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let sections = GatewayDaemon.counsellingMailbox + "\n"
            + PostgresGatewaySupport.storeSection(database, node: "node-x") + "\n[metrics]\nenabled = false\n[web]\nenabled = false"
        let first = try GatewayDaemon(name: "pg-name-first", sections: sections)
        defer { first.remove() }
        let second = try GatewayDaemon(name: "pg-name-second", sections: sections)
        defer { second.remove() }
        var running = try first.launch()
        try #require(try await first.waitUntilListening(running), "did not start: \(first.logText.suffix(600))")
        try PostgresGatewaySupport.provision(masterKey: first.dataFolder.appending(path: "master.key").path,
                                             toMasterKey: second.dataFolder.appending(path: "master.key").path)

        // Another data folder under the same name, while the first renews: refused, and it says why.
        let refused = try second.launch()
        let started = ContinuousClock.now
        while refused.isRunning, ContinuousClock.now - started < .seconds(30) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(!refused.isRunning && refused.terminationStatus == 1, "\(second.logText.suffix(800))")
        #expect(second.logText.contains("another running gateway process holds node-id \"node-x\""),
                "\(second.logText.suffix(800))")
        #expect(second.logLines(containing: "waiting for its heartbeat to run out") == 1)
        #expect(!FreePort.isListening(second.port))
        #expect(first.logLines(containing: "node-id claimed") == 1)

        // Killed: its heartbeat lasts up to 10 s more, but it was this machine's process and is gone.
        first.kill(running)
        let restart = ContinuousClock.now
        running = try first.launch()
        try #require(try await first.waitUntilListening(running), "did not restart: \(first.logText.suffix(600))")
        #expect(ContinuousClock.now - restart < .seconds(8))
        #expect(first.logLines(containing: "waiting for its heartbeat to run out") == 0)
        #expect(first.logLines(containing: "node-id claimed") == 2)

        // Stopped cleanly: the name is released, and the other data folder's process starts at once.
        #expect(try await first.stop(running), "did not stop after SIGTERM")
        let handOver = ContinuousClock.now
        let next = try second.launch()
        try #require(try await second.waitUntilListening(next), "did not start: \(second.logText.suffix(600))")
        #expect(ContinuousClock.now - handOver < .seconds(8))
        #expect(second.logLines(containing: "waiting for its heartbeat to run out") == 1)  // the first attempt's
        let holder = try server.psql("SELECT count(*) FROM gateway_node WHERE node = 'node-x'", database: database.name)
        #expect(holder.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(try await second.stop(next), "did not stop after SIGTERM")
        let left = try server.psql("SELECT count(*) FROM gateway_node", database: database.name)
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }
}
