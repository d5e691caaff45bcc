import Foundation
@testable import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 21: on PostgreSQL the online backup is PostgreSQL's own (`pg_dump`), as docs/operations.md ("Backups on
/// PostgreSQL") describes it: a dump restored into a new, empty database serves a new node that has only the master
/// key (an empty GnuPG home): the thread opens and the gateway key comes from the restored key shelf. The dump holds
/// no canary, and `mailbridge backup` says where to go instead of writing a SQLite archive.
@Suite(.serialized) struct PostgresBackupRestoreTests {
    @Test(.timeLimit(.minutes(3))) func aDumpRestoredIntoANewDatabaseServesANodeWithOnlyTheMasterKey() async throws {
        let setUp = try await SharedGatewayKeysTests.TwoNodes()
        defer { setUp.remove() }
        let canary = MasterKeyRotationPostgresTests.canary
        let first = try await OpenedInstallation.open(setUp.a, logger: setUp.logs.logger("a"))
        let gatewayKey = try #require(first.gatewayKeys["beratung@localhost"])
        let (thread, _) = try await MasterKeyRotationPostgresTests().fill(first)
        let refused = await #expect(throws: RecoveryError.self) {
            _ = try await RecoveryAdmin.backup(first, to: setUp.root.appendingPathComponent("backup.tar"),
                                               configurationText: Data())
        }
        #expect("\(refused!)".contains("pg_dump"))
        #expect(!FileManager.default.fileExists(atPath: setUp.root.appendingPathComponent("backup.tar").path))
        await first.close()

        // The operator's backup and restore: a dump without owners, restored by the new database's own role.
        let server = setUp.database.server
        let dump = setUp.root.appendingPathComponent("dump.sql")
        let dumped = try await offCooperativePool {
            try Shell.run("pg_dump", [
                "-h", server.host, "-p", String(server.port), "-U", PostgresServer.superuser,
                "-d", setUp.database.name, "--format=plain", "--no-owner", "--no-privileges", "-f", dump.path,
            ], environment: ["PGPASSWORD": server.superuserPassword, "PGSSLMODE": "disable"])
        }
        #expect(dumped.status == 0)
        let text = try Data(contentsOf: dump)
        #expect(PostgresCanaryScan.scan(Array(text), file: "pg_dump", for: [canary, "klientin@example.org"]).isEmpty)
        let restored = try await server.makeDatabase()
        _ = try await offCooperativePool {
            try Shell.run("psql", [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.host, "-p", String(server.port),
                "-U", restored.user, "-d", restored.name, "-f", dump.path,
            ], environment: ["PGPASSWORD": restored.password, "PGSSLMODE": "disable"])
        }

        // A new node on the restored database with the master key only.
        var node = BridgeConfiguration.embeddedDefault(
            dataFolder: try AbsolutePath(setUp.root.appendingPathComponent("node-c").path))
        try node.usePostgreSQL(restored, node: "node-c")
        try PostgresGatewaySupport.provision(masterKey: setUp.a.keys.masterKeyFile.string,
                                             toMasterKey: node.keys.masterKeyFile.string)
        let c = try await OpenedInstallation.open(node, logger: setUp.logs.logger("c"))
        #expect(c.gatewayKeys["beratung@localhost"] == gatewayKey)
        #expect(try await c.pgp.key(gatewayKey, secret: true)?.canSign == true)
        let opened = try await c.stores.inbox.exportThread(thread, via: .commandLine)
        #expect(String(decoding: opened.messages[0].body, as: UTF8.self) == "Hallo \(canary)")
        await c.close()
        _ = try? Shell.run("gpgconf", ["--homedir", node.keys.gnupgHome.string, "--kill", "all"], allowFailure: true)
    }
}
