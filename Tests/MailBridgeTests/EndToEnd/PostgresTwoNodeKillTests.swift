import Foundation
import Logging
import MailBridge
import NIOCore
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21's test: two `mailbridge serve` processes on one PostgreSQL database, each with its own data folder,
/// spool and GnuPG home. SMTP senders send plain mail (one redirect each) and signed first-contact mail (one thread
/// and one receipt each) to both nodes at once, resending what got no `250`; node A is killed with `kill -9`
/// several times at random moments and started again. Afterwards every message that got a `250` is in its client's
/// thread exactly once, every redirect and receipt reached the sink (a local SMTP server) once by Message-ID, and
/// nothing waits in either spool. The outbox lease is 10 s: what the killed node had claimed waits that long (for
/// node B, or for node A after its restart, which takes over only expired leases, its own included).
///
/// Node B starts with node A's master key and an empty GnuPG home (the gateway key comes from the database's key
/// shelf). `MB_TWO_NODE_MESSAGES=<n>` sets the messages per kind (default 24),
/// `MB_TWO_NODE_KILLS=<k>` the kills (default 4).
@Suite(.serialized) struct PostgresTwoNodeKillTests {
    static var perKind: Int {
        max(4, ProcessInfo.processInfo.environment["MB_TWO_NODE_MESSAGES"].flatMap(Int.init) ?? 24)
    }
    static var kills: Int { ProcessInfo.processInfo.environment["MB_TWO_NODE_KILLS"].flatMap(Int.init) ?? 4 }

    @Test(.timeLimit(.minutes(10))) func killedNodeLosesAndRepeatsNothing() async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product first")
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        func sections(_ node: String) -> String {
            """
            [[mailbox]]
            address = "\(PipelineHarness.counselling)"
            field = "allgemein"
            team-notification-address = "\(PipelineHarness.team)"
            redirect-link = "https://beratung.example/login"
            language = "de"
            \(PostgresGatewaySupport.storeSection(database, node: node))
            [smarthost]
            host = "127.0.0.1"
            port = \(sink.port)
            tls = "none"
            [metrics]
            enabled = false
            [web]
            enabled = false
            """
        }
        let smtp = "max-connections-per-ip = 100\nmax-connections = 100"
        let nodeA = try GatewayDaemon(name: "pg-node-a", smtp: smtp, sections: sections("node-a"))
        defer { nodeA.remove() }
        let nodeB = try GatewayDaemon(name: "pg-node-b", smtp: smtp, sections: sections("node-b"))
        defer { nodeB.remove() }
        var processA = try nodeA.launch()
        try #require(try await nodeA.waitUntilListening(processA), "node A did not start: \(nodeA.logText.suffix(600))")
        try PostgresGatewaySupport.provision(masterKey: nodeA.dataFolder.appending(path: "master.key").path,
                                             toMasterKey: nodeB.dataFolder.appending(path: "master.key").path)
        let processB = try nodeB.launch()
        try #require(try await nodeB.waitUntilListening(processB), "node B did not start: \(nodeB.logText.suffix(600))")

        let client = try GnuPGClient(home: nodeA.folder.appending(path: "client"))
        defer { client.kill() }
        try client.gpg(["--import"], stdin: try nodeA.command(["keys", "export"]).stdout)
        let gateway = try client.fingerprint(PipelineHarness.counselling)
        let tag = UUID().uuidString.prefix(6).lowercased()
        let plain = (0..<Self.perKind).map { "plain\($0)-\(tag)@example.net" }
        let signed = (0..<Self.perKind).map { "neu\($0)-\(tag)@example.net" }
        let keys = try client.makeKeys(signed)
        var outgoing: [DaemonKeyringKillTests.Outgoing] = []
        for (index, address) in plain.enumerated() {
            let id = "p\(index)-\(tag)@example.net"
            let raw = "From: \(address)\r\nTo: \(PipelineHarness.counselling)\r\nSubject: Hallo\r\nMessage-ID: <\(id)>\r\n"
                + "Date: \(DaemonKeyringKillTests.rfc5322Date())\r\n\r\nIch brauche Hilfe.\r\n"
            outgoing.append(.init(client: address, messageID: id, bytes: raw))
        }
        for (index, address) in signed.enumerated() {
            let key = try #require(keys[address])
            let id = "s\(index)-\(tag)@example.net"
            let mail = try EncryptedTestMail.pgpMIME(
                client: client, from: address, to: PipelineHarness.counselling, clientKey: key, gatewayKey: gateway,
                inner: "Content-Type: text/plain; charset=utf-8\r\n\r\nNachricht \(index)\r\n", messageID: "<\(id)>")
            outgoing.append(.init(client: address, messageID: id, bytes: mail))
        }
        outgoing.shuffle()
        let half = outgoing.count / 2
        let ledgerA = SendLedger(Array(outgoing[..<half]))
        let ledgerB = SendLedger(Array(outgoing[half...]))

        // Both nodes take mail at once; node A is killed and started again while it does.
        let started = ContinuousClock.now
        let sendingA = Task { await DaemonKeyringKillTests.send(ledgerA, port: nodeA.port, senders: 3) }
        let sendingB = Task { await DaemonKeyringKillTests.send(ledgerB, port: nodeB.port, senders: 3) }
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var killsWithSpooledMail = 0
        while kills < Self.kills, !(await ledgerA.isDone && nodeA.spooled == 0) {
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...1200, using: &generator)))
            if nodeA.spooled > 0 { killsWithSpooledMail += 1 }
            nodeA.kill(processA)
            kills += 1
            processA = try nodeA.launch()
            try #require(try await nodeA.waitUntilListening(processA), "node A did not restart")
        }
        await sendingA.value
        await sendingB.value
        let processedA = try await DaemonKeyringKillTests.waitUntilProcessed(nodeA, processA, timeout: .seconds(240))
        let processedB = try await DaemonKeyringKillTests.waitUntilProcessed(nodeB, processB, timeout: .seconds(240))
        #expect(processedA && processedB, "spooled: node A \(nodeA.spooled), node B \(nodeB.spooled)")

        // Every redirect and every receipt at the sink, once by Message-ID.
        let expected = Set(plain + signed)
        var deliveries: [String: [String]] = [:]
        let deadline = ContinuousClock.now + .seconds(120)
        repeat {
            deliveries = Self.deliveriesByRecipient(sink, among: expected)
            if Set(deliveries.keys) == expected { break }
            try await Task.sleep(for: .milliseconds(250))
        } while ContinuousClock.now < deadline
        try await Task.sleep(for: .seconds(2))  // a late duplicate would arrive now
        deliveries = Self.deliveriesByRecipient(sink, among: expected)
        let missing = expected.subtracting(deliveries.keys)
        let repeatedIDs = deliveries.filter { Set($0.value).count != 1 }
        let resent = deliveries.values.map { $0.count - Set($0).count }.reduce(0, +)

        #expect(try await nodeA.stop(processA), "node A did not stop after SIGTERM")
        #expect(try await nodeB.stop(processB), "node B did not stop after SIGTERM")

        // The threads, read from the shared database.
        let logger = Logger(label: "test.two-nodes")
        let endpoint = PostgresEndpoint(host: server.host, port: server.port, database: database.name,
                                        user: database.user, passwordFile: database.passwordFile.path, tls: .disable,
                                        connectTimeoutSeconds: 5)
        let pool = try PostgresDatabase(endpoint, maximumConnections: 2, logger: logger)
        let running = Task { await pool.run() }
        defer { running.cancel() }
        let masterKey = try MasterKey(contentsOf: nodeA.dataFolder.appending(path: "master.key"))
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.maximumPageSize = 10_000
        let threads = try await PostgresThreads.open(pool, masterKey: masterKey, configuration: storeConfiguration,
                                                     logger: logger)
        let webState = try await PostgresWebState.open(pool, masterKey: masterKey, logger: logger)
        let (_, actor) = try await PostgresGatewaySupport.counsellor(webState, channel: .commandLine)
        let list = try await threads.listInbox(scope: actor.scope, state: nil, assignment: nil, order: .lastActivity,
                                               limit: 10_000, after: nil)
        var stored: [String: [String]] = [:]
        for entry in list {
            let view = try await threads.openThread(entry.id, page: MessagePageRequest(limit: 100), by: actor,
                                                    event: .threadViewed)
            stored[view.clientAddress.unredactedDescription, default: []] += view.messages.map { _ in view.thread.id
                .unredactedDescription }
        }
        let acceptedSigned = (await ledgerA.accepted + ledgerB.accepted).filter { signed.contains($0.client) }
        var misplaced: [String] = []
        for message in acceptedSigned where stored[message.client]?.count != 1 {
            misplaced.append("\(message.client): \(stored[message.client]?.count ?? 0) stored")
        }
        print("two nodes on PostgreSQL: \(outgoing.count) messages (\(plain.count) plain, \(signed.count) signed), "
              + "\(await ledgerA.attempts + ledgerB.attempts) SMTP attempts; \(kills) kill -9 of node A "
              + "(\(killsWithSpooledMail) with mail in its spool); \(list.count) threads; deliveries: "
              + "\(deliveries.values.map(\.count).reduce(0, +)) to \(deliveries.count) recipients, \(resent) resent "
              + "with the same Message-ID; \(ContinuousClock.now - started)")
        let unsent = await ledgerA.remaining + ledgerB.remaining
        #expect(unsent == 0, "\(unsent) messages never got a 250")
        #expect(list.count == signed.count, "\(list.count) threads for \(signed.count) clients")
        #expect(misplaced.isEmpty, "\(misplaced.prefix(5))")
        #expect(missing.isEmpty, "no redirect or receipt for \(missing.count): \(missing.prefix(3))")
        #expect(repeatedIDs.isEmpty, "more than one message for \(repeatedIDs.keys.prefix(3))")
    }

    /// The sink's messages to `recipients` (its `To:`), as their Message-IDs.
    static func deliveriesByRecipient(_ sink: OutboundSink, among recipients: Set<String>) -> [String: [String]] {
        var found: [String: [String]] = [:]
        for message in sink.messages() {
            let text = String(decoding: message, as: UTF8.self)
            let header = text.components(separatedBy: "\r\n\r\n").first ?? text
            var to: String?
            var id = ""
            for line in header.components(separatedBy: "\r\n") {
                if line.lowercased().hasPrefix("to: ") { to = String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces) }
                if line.lowercased().hasPrefix("message-id: ") { id = String(line.dropFirst(12)) }
            }
            if let to, recipients.contains(to) { found[to, default: []].append(id) }
        }
        return found
    }
}
