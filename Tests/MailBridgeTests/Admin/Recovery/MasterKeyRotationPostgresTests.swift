import Foundation
import Logging
@testable import MailBridge
import MailValues
import NIOConcurrencyHelpers
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: `mailbridge master-key rotate` on a PostgreSQL store. One transaction reseals every value sealed
/// under the master key (thread keys, accounts, thread-less outbox items, the key shelves), refused while any
/// gateway node is connected; afterwards the old key opens nothing, and a node with only the new key (and an empty
/// GnuPG home) reads the thread and takes the gateway key from the shelf.
@Suite(.serialized) struct MasterKeyRotationPostgresTests {
    static let canary = "KANARIE-rotation-\(UUID().uuidString.prefix(8))"

    /// A thread with the canary, an account with a notification address, a thread-less outbox item; returns the
    /// thread.
    func fill(_ installation: OpenedInstallation) async throws -> (ThreadID, AccountID) {
        let client = ClientIdentity(field: try CounsellingField("allgemein"),
                                    key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
                                    address: try ClientAddress("klientin@example.org"))
        let message = NewMessage(direction: .inbound, messageID: "<rotation@example.org>", subject: "Betreff",
                                 body: Array("Hallo \(Self.canary)".utf8), attachments: [], verdict: .unsigned,
                                 receivedAt: Date(), replayFingerprints: [], replayFingerprintsAreProvisional: false,
                                 signer: nil)
        let outcome = try await installation.stores.inbound.importMessage(message, into: .client(client))
        guard case .stored(let thread, _, _) = outcome else { throw RotationTestFailure("\(outcome)") }
        guard case .postgresql(let postgres) = installation.engine else { throw RotationTestFailure("not on PostgreSQL") }
        let (account, _) = try await PostgresGatewaySupport.counsellor(postgres.webState)
        try await installation.stores.inbox.setNotificationSettings(
            NotificationSettings(address: try ClientAddress("anna@beratung.example")), of: account, actor: nil,
            via: .commandLine)
        let queued = try await installation.stores.inbound.queueNotice(
            NewOutboxItem(thread: nil, kind: .receipt, recipient: try ClientAddress("klientin@example.org"),
                          payload: Array("notice".utf8), notBefore: Date()),
            once: nil, now: Date(), period: 60)
        #expect(queued)
        // A message a stopped node accepted and never processed, waiting in the shared spool.
        let file = FileManager.default.temporaryDirectory.appending(path: "rotation-\(UUID().uuidString).eml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("Subject: x\r\n\r\nGespoolt \(Self.canary)\r\n".utf8).write(to: file)
        try await postgres.inboundSpool.record(queue: "rotation-queue", envelope: Data(#"{"version":1}"#.utf8),
                                               messageFile: file.path)
        // And one whose piece was deleted in the database: it does not open under the old key.
        try await postgres.inboundSpool.record(queue: "rotation-broken", envelope: Data(#"{"version":1}"#.utf8),
                                               messageFile: file.path)
        return (thread, account)
    }

    @Test(.timeLimit(.minutes(4))) func rotationResealsEverythingAndIsRefusedWhileANodeIsConnected() async throws {
        let setUp = try await SharedGatewayKeysTests.TwoNodes()
        defer { setUp.remove() }
        let logger = setUp.logs.logger("rotate")
        let keyPath = setUp.a.keys.masterKeyFile.string
        let oldKeyBytes = try Data(contentsOf: URL(fileURLWithPath: keyPath))

        let first = try await OpenedInstallation.open(setUp.a, logger: setUp.logs.logger("a"))
        let gatewayKey = try #require(first.gatewayKeys["beratung@localhost"])
        let (thread, account) = try await fill(first)
        await first.close()
        _ = try setUp.database.server.psql("DELETE FROM inbound_spool_piece WHERE queue_id = 'rotation-broken'",
                                           database: setUp.database.name)

        // A running node elsewhere (its pool keeps one connection named for it): refused, nothing changed, no
        // stray key file left behind.
        var endpoint = try #require(setUp.b.store.postgresql).endpoint
        endpoint.applicationName = PostgresEndpoint.gatewayNode("node-b")
        let running = try PostgresDatabase(endpoint, minimumConnections: 1, logger: logger)
        let pool = Task { await running.run() }
        try await waitForGatewayConnection(setUp.database)
        let refusal = await #expect(throws: RecoveryError.self) {
            _ = try await MasterKeyRotator.rotate(configuration: setUp.a, logger: logger)
        }
        #expect(refusal?.code == .gatewayRunning && "\(refusal!)".contains("node-b"), "\(String(describing: refusal))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: keyPath)) == oldKeyBytes)
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".next"))
        pool.cancel()
        await pool.value
        try await waitForGatewayConnection(setUp.database, present: false)

        // No node connected: rotated, every sealed row with it.
        let lines = try await MasterKeyRotator.rotate(configuration: setUp.a, logger: logger)
        let summary = lines.joined(separator: "\n")
        #expect(summary.contains("thread keys: 1, outbox items: 1, accounts: 1"), "\(summary)")
        // The broken row is marked damaged, as a node restoring it would, and does not stop the rotation.
        #expect(summary.contains("shared keys: 1, spooled messages: 1, spooled messages marked damaged: 1, "
                                 + "key generation: 2"), "\(summary)")
        #expect(summary.contains("every node of this database needs the new key"), "\(summary)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: keyPath)) != oldKeyBytes)

        // The old key opens nothing: node B, provisioned with it before the rotation, refuses to start.
        let stale = setUp.b.keys.masterKeyFile.string
        #expect(try Data(contentsOf: URL(fileURLWithPath: stale)) == oldKeyBytes)
        let stopped = await #expect(throws: RecoveryError.self) {
            _ = try await OpenedInstallation.open(setUp.b, logger: setUp.logs.logger("stale"))
        }
        #expect(stopped?.code == .keyMismatch && "\(stopped!)".contains("every node needs the key"))

        // Node B with the new key only (empty GnuPG home): the gateway key comes from the resealed shelf, the thread,
        // the account's address and the queued item open.
        try FileManager.default.removeItem(atPath: stale)
        try PostgresGatewaySupport.provision(masterKey: keyPath, toMasterKey: stale)
        let b = try await OpenedInstallation.open(setUp.b, logger: setUp.logs.logger("b"))
        #expect(b.gatewayKeys["beratung@localhost"] == gatewayKey)
        #expect(try await b.pgp.key(gatewayKey, secret: true)?.canSign == true)
        let opened = try await b.stores.inbox.exportThread(thread, via: .commandLine)
        #expect(String(decoding: opened.messages[0].body, as: UTF8.self) == "Hallo \(Self.canary)")
        let settings = try await b.stores.inbox.notificationSettings(of: account)
        #expect(settings?.address == (try ClientAddress("anna@beratung.example")))
        guard case .postgresql(let postgres) = b.engine else { throw RotationTestFailure("not on PostgreSQL") }
        let overview = try await postgres.outbox.overview(limit: 10)
        #expect(overview.count == 1)
        let spooled = NIOLockedValueBox(Data())
        let envelope = try await postgres.inboundSpool.open("rotation-queue") { _, piece in
            spooled.withLockedValue { $0.append(piece) }
        }
        #expect(envelope == Data(#"{"version":1}"#.utf8))
        #expect(String(decoding: spooled.withLockedValue { $0 }, as: UTF8.self).contains("Gespoolt \(Self.canary)"))
        #expect(try await postgres.inboundSpool.damaged().map(\.queue) == ["rotation-broken"])
        let audit = try await b.stores.audit.latestAuditEntries(AuditFilter(), limit: 50)
        #expect(audit.contains { $0.event == .masterKeyRotated && $0.count == 1 })
        await b.close()
        #expect(!setUp.logs.all.contains { $0.contains(Self.canary) })
    }

    /// Waits until PostgreSQL lists a connection of a running gateway node (or, `present` false, none).
    func waitForGatewayConnection(_ database: TestDatabase, present: Bool = true) async throws {
        for _ in 0..<100 {
            let count = try database.server.psql("""
                SELECT count(*) FROM pg_stat_activity
                WHERE application_name LIKE '\(PostgresMasterKeyRotation.gatewayApplicationPrefix)%'
                """)
            if (count.trimmingCharacters(in: .whitespacesAndNewlines) != "0") == present { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RotationTestFailure(present ? "no gateway connection appeared" : "the gateway connection stayed")
    }
}

struct RotationTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
