import Foundation
import Logging
import StorePostgres
import Testing
import TestSupport
import ThreadStore

@testable import MailBridge

/// `mailbridge store migrate --to postgresql` (issue 21) from a configuration: refused while a gateway holds the
/// installation, then moves the data folder's SQLite store into the configured, empty database, which afterwards
/// opens with the master key; a second run moves nothing.
@Suite struct StoreMoveTests {
    let logger = Logger(label: "test.store-move")

    @Test func theDataFoldersStoreMovesIntoPostgreSQLOnlyWhileNoGatewayRuns() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = folder.url.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("gnupg"),
                                                withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let masterKey = MasterKey.generate()
        try masterKey.write(to: data.appendingPathComponent("master.key"))
        let store = try ThreadStore(at: data.appendingPathComponent("threads.sqlite"), masterKey: masterKey)
        let imported = try await ThreadStoreImport(store).importMessage(
            NewMessage(direction: .inbound, messageID: "<move@example.org>", subject: "Betreff",
                       body: Array("Kanarienvogel im Umzug".utf8), attachments: [], verdict: .unsigned,
                       receivedAt: Date(), replayFingerprints: [], replayFingerprintsAreProvisional: false,
                       signer: nil),
            into: .client(ClientIdentity(field: try CounsellingField("sucht"),
                                         key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
                                         address: try ClientAddress("klient@example.org"))))
        guard case .stored(let thread, _, _) = imported else {
            Issue.record("not stored: \(imported)")
            return
        }
        let config = try folder.write("mailbridge.toml", ConfigurationErrorTests.mailbox + """
            [data]
            folder = "\(data.path)"

            [store]
            engine = "postgresql"
            host = "127.0.0.1"
            port = \(database.server.port)
            database = "\(database.name)"
            user = "\(database.user)"
            password-file = "\(database.passwordFile.path)"
            tls = "disable"
            connect-timeout-seconds = 5
            """)
        let configuration = try BridgeConfiguration.load(file: config)

        // A gateway holds the installation: refused, nothing moved.
        let running = try OfflineClaim.take(gnupgHome: data.appendingPathComponent("gnupg").path)
        let refused = await StoreMove.run(configuration, logger: logger)
        #expect(refused.status == .failure && refused.output.contains("the gateway is running"), "\(refused.output)")
        running.release()

        let moved = await StoreMove.run(configuration, logger: logger)
        #expect(moved.status == .success, "\(moved.output)")
        #expect(moved.output.contains("1 threads with equal digests"), "\(moved.output)")
        #expect(!moved.output.contains(database.password) && !moved.output.contains("Kanarienvogel"))
        let pool = try PostgresDatabase(ConfigurationCheck.postgresEndpoint(configuration.store.postgresql!),
                                        maximumConnections: 2, logger: logger)
        let task = Task { await pool.run() }
        defer { task.cancel() }
        let content = try await PostgresThreads.open(pool, masterKey: masterKey, logger: logger).threadContent(thread)
        #expect(content.messages.map { String(decoding: $0.body, as: UTF8.self) } == ["Kanarienvogel im Umzug"])

        let again = await StoreMove.run(configuration, logger: logger)
        #expect(again.status == .failure && again.output.contains("not empty"), "\(again.output)")
    }
}
