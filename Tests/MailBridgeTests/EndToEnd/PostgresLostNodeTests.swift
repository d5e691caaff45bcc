import Foundation
import Logging
import MailBridge
import MailValues
import NIOCore
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: a node that accepted mail (`250`) and was lost for good before processing it, its disk with it. The
/// messages were written to PostgreSQL's shared spool before the `250`, so node B takes them over once node A's
/// lease ran out and processes them: the encrypted one lands in its client's thread, the plain one gets its
/// redirect. Then node A's disk comes back after all and node A starts on it: its stale copies are recognised as
/// repeats, so the thread still holds the words once and the redirect went out once. Nothing of the encrypted
/// message appears in any log or outbound mail.
///
/// Node A's acceptance is its spool intake with the shared spool (what its SMTP listener calls), without a runner,
/// so that it surely processed nothing before it was lost.
@Suite(.serialized) struct PostgresLostNodeTests {
    @Test(.timeLimit(.minutes(4))) func aLostNodesAcceptedMailIsProcessedByAnotherNodeOnce() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let root = URL(fileURLWithPath: "/tmp/mb-lost-node-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        func configuration(_ node: String) throws -> BridgeConfiguration {
            var configuration = BridgeConfiguration.embeddedDefault(
                dataFolder: try AbsolutePath(root.appendingPathComponent(node).path))
            configuration.smtp.port = 0
            configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
            configuration.metrics.enabled = false
            configuration.web.enabled = false
            try configuration.usePostgreSQL(database, node: node)
            configuration.store.postgresql?.leaseSeconds = 10
            return configuration
        }
        let configurationA = try configuration("node-a"), configurationB = try configuration("node-b")
        defer { PostgresGatewaySupport.remove([configurationA, configurationB], root: root) }
        let logs = LogCapture()
        let nodeB = try await Gateway.start(configurationB, logger: logs.logger("b"))
        let runningB = Task { try await nodeB.run() }
        try PostgresGatewaySupport.provision(masterKey: configurationB.keys.masterKeyFile.string,
                                             toMasterKey: configurationA.keys.masterKeyFile.string)

        let client = try GnuPGClient(home: root.appendingPathComponent("client-gnupg"))
        defer { client.kill() }
        let gatewayKey = try #require(nodeB.gatewayKeys["beratung@localhost"])
        try client.gpg(["--import"], stdin: try await nodeB.pgp.exportPublicKey(gatewayKey))
        let tag = UUID().uuidString.prefix(6).lowercased()
        let address = "verloren-\(tag)@example.net", plainAddress = "klartext-\(tag)@example.net"
        let clientKey = try client.makeKey(address)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let encrypted = try EncryptedTestMail.pgpMIME(
            client: client, from: address, to: "beratung@localhost", clientKey: clientKey, gatewayKey: gatewayKey,
            inner: PostgresTwoNodeTests.inner("\(canary) Worte"), messageID: "<lost-\(tag)@example.net>")
        let plain = "From: \(plainAddress)\r\nTo: beratung@localhost\r\nSubject: Hallo\r\nMessage-ID: <p-\(tag)@example.net>"
            + "\r\nDate: \(DaemonKeyringKillTests.rfc5322Date())\r\n\r\nIch brauche Hilfe.\r\n"

        // Node A accepts both, as its SMTP listener would, and is lost before it processes either.
        let masterKey = try MasterKey(contentsOf: URL(fileURLWithPath: configurationA.keys.masterKeyFile.string))
        let spoolA = root.appendingPathComponent("node-a/spool")
        let engineA = try await OpenedStoreEngine.open(configurationA, dataFolder: root.appendingPathComponent("node-a"),
                                                       masterKey: masterKey, logger: logs.logger("a"))
        guard case .postgresql(let openedA) = engineA else { throw PostgresServerFailure("node A is not on PostgreSQL") }
        let intakeA = try SpoolIntake(root: spoolA, mirror: PostgresSpoolMirror(openedA.inboundSpool,
                                                                                logger: logs.logger("a")))
        for (mail, from) in [(encrypted, address), (plain, plainAddress)] {
            let id = QueueID.make(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000))
            let file = try intakeA.makeSpoolFile(queueID: id)
            try await file.append(ByteBuffer(bytes: Array(mail.utf8)))
            try await file.finish()
            _ = try await intakeA.accept(InboundMessage(
                envelope: .init(reversePath: .mailbox(try EmailAddress(from)),
                                recipients: [try EmailAddress("beratung@localhost")], clientAddress: nil,
                                receivedAt: Date(), queueID: id),
                spoolFile: file.url, size: file.size))
        }
        await engineA.close()
        #expect(intakeA.backlogCount() == 2)
        let copy = root.appendingPathComponent("node-a-disk")
        try FileManager.default.copyItem(at: spoolA, to: copy)
        try FileManager.default.removeItem(at: spoolA)
        let started = ContinuousClock.now

        // Node B takes them over once node A's lease (10 s) ran out.
        let threads = try PostgresTwoNodeTests.threads(nodeB)
        let (_, actor) = try await PostgresGatewaySupport.counsellor(threads.webState)
        let view = try #require(try await Self.waitForMessages(threads.threads, actor: actor, count: 1,
                                                                timeout: .seconds(60)),
                                "node B never imported node A's message")
        #expect(ContinuousClock.now - started >= .seconds(8), "taken over before node A's lease ran out")
        #expect(view.messages.count == 1)
        #expect(view.messages.first.map { String(decoding: $0.body, as: UTF8.self) }?.contains(canary) == true)
        #expect(try await Self.waitForRedirects(sink, to: plainAddress, count: 1) == 1)

        // Node A's disk comes back and node A starts on it: its copies are repeats.
        try FileManager.default.moveItem(at: copy, to: spoolA)
        let nodeA = try await Gateway.start(configurationA, logger: logs.logger("a"))
        let runningA = Task { try await nodeA.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? FileManager.default.contentsOfDirectory(atPath: spoolA.appendingPathComponent("incoming").path)
                .isEmpty) != true, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: .seconds(3))  // a repeated redirect would be delivered by now
        let again = try await threads.threads.openThread(view.thread.id, page: MessagePageRequest(), by: actor,
                                                         event: .threadViewed)
        #expect(again.messages.count == 1, "\(again.messages.count) messages after node A came back")
        #expect(try await Self.waitForRedirects(sink, to: plainAddress, count: 2, timeout: .seconds(1)) == 1)
        let inboxes = try await threads.threads.listInbox(scope: actor.scope, state: nil, assignment: nil,
                                                          order: .lastActivity, limit: 10, after: nil)
        #expect(inboxes.count == 1)
        let waiting = try server.psql("SELECT count(*) FROM inbound_spool", database: database.name)
        #expect(waiting.trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        runningA.cancel()
        runningB.cancel()
        _ = await runningA.result
        _ = await runningB.result
        for line in logs.all { #expect(!line.contains(canary), "canary in a log line") }
        for text in sink.messages().map({ String(decoding: $0, as: UTF8.self) }) {
            #expect(!text.contains(canary), "canary in outbound mail")
        }
        let hits = try PostgresCanaryScan.dump(database.name, on: server, for: [canary])
        #expect(hits.isEmpty, "\(hits.prefix(3))")
    }

    static func waitForMessages(_ threads: PostgresThreads, actor: InboxActor, count: Int, timeout: Duration)
        async throws -> InboxThreadView?
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let list = try await threads.listInbox(scope: actor.scope, state: nil, assignment: nil,
                                                   order: .lastActivity, limit: 10, after: nil)
            if let only = list.first {
                let view = try await threads.openThread(only.id, page: MessagePageRequest(), by: actor,
                                                        event: .threadViewed)
                if view.messages.count >= count { return view }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }

    /// How many mails reached the sink for `recipient`, once there are `count` or `timeout` passed.
    static func waitForRedirects(_ sink: OutboundSink, to recipient: String, count: Int,
                                 timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var found = 0
        repeat {
            found = sink.messages().map { String(decoding: $0, as: UTF8.self) }
                .filter { $0.contains("To: \(recipient)") }.count
            if found >= count { break }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        return found
    }
}
