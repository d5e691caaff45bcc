import Foundation
import Logging
import Testing

@testable import MailBridge

/// `[store]` (issue 21): the engine, the PostgreSQL options, their defaults, the loopback rule for `tls =
/// "disable"`, conflicts and the TOML round trip.
@Suite struct StoreConfigurationTests {
    static let mailbox = ConfigurationErrorTests.mailbox
    static let postgresql = """
        [store]
        engine = "postgresql"
        host = "db.example.org"
        password-file = "/etc/mailbridge/postgres-password"

        """

    @Test func sqliteIsTheDefault() throws {
        let configuration = try BridgeConfiguration.parse(Self.mailbox)
        #expect(configuration.store == .init(engine: .sqlite, postgresql: nil))
        let explicit = try BridgeConfiguration.parse(Self.mailbox + "[store]\nengine = \"sqlite\"\n")
        #expect(explicit.store == configuration.store)
    }

    @Test func postgresqlDefaults() throws {
        let configuration = try BridgeConfiguration.parse(Self.mailbox + Self.postgresql)
        #expect(configuration.store.engine == .postgresql)
        let server = try #require(configuration.store.postgresql)
        #expect(server.host == "db.example.org")
        #expect(server.port == 5432)
        #expect(server.database == "mailbridge")
        #expect(server.user == "mailbridge")
        #expect(server.passwordFile.string == "/etc/mailbridge/postgres-password")
        #expect(server.tls == .verifyFull)
        #expect(server.caFile == nil)
        #expect(server.connectTimeoutSeconds == 10)
    }

    /// `node-id` and `lease-seconds` (issue 21): the node's name in the shared outbox's leases, checked as
    /// PostgresOutboxQueue checks it, and the lease, which a delivery renews every third of it.
    @Test func nodeNameAndLease() throws {
        let defaults = try #require(try BridgeConfiguration.parse(Self.mailbox + Self.postgresql).store.postgresql)
        #expect(defaults.nodeID == nil)
        #expect(defaults.leaseSeconds == 60)
        #expect(defaults.nodeName(hostName: "gw1.beratung.example") == "gw1.beratung.example")
        #expect(defaults.nodeName(hostName: "größe:1 2") == "gr--e-1-2")
        #expect(defaults.nodeName(hostName: "") == "node")
        #expect(defaults.nodeName(hostName: String(repeating: "a", count: 80)).count == 64)

        let text = Self.mailbox + Self.postgresql + "node-id = \"gateway-2\"\nlease-seconds = 120\n"
        let configuration = try BridgeConfiguration.parse(text)
        let server = try #require(configuration.store.postgresql)
        #expect(server.nodeID == "gateway-2")
        #expect(server.nodeName(hostName: "anything") == "gateway-2")
        #expect(server.leaseSeconds == 120)
        #expect(try BridgeConfiguration.parse(configuration.tomlText).store == configuration.store)

        for bad in ["node-id = \"gateway 2\"", "node-id = \"knoten/1\"", "node-id = \"\(String(repeating: "n", count: 65))\"",
                    "lease-seconds = 5", "lease-seconds = 7200"] {
            #expect(throws: ConfigurationError.self, "\(bad)") {
                try BridgeConfiguration.parse(Self.mailbox + Self.postgresql + bad + "\n")
            }
        }
        // PostgreSQL options only with engine = "postgresql".
        #expect(throws: ConfigurationError.self) {
            try BridgeConfiguration.parse(Self.mailbox + "[store]\nnode-id = \"gateway-1\"\n")
        }
    }

    @Test func valuesAreReadAndRoundTrip() throws {
        let text = Self.mailbox + Self.postgresql + """
            port = 6432
            database = "beratung"
            user = "gateway"
            ca-file = "/etc/mailbridge/postgres-ca.pem"
            connect-timeout-seconds = 3

            """
        let configuration = try BridgeConfiguration.parse(text)
        let server = try #require(configuration.store.postgresql)
        #expect(server.port == 6432)
        #expect(server.database == "beratung")
        #expect(server.user == "gateway")
        #expect(server.caFile?.string == "/etc/mailbridge/postgres-ca.pem")
        #expect(server.connectTimeoutSeconds == 3)
        let again = try BridgeConfiguration.parse(configuration.tomlText)
        #expect(again.store == configuration.store)
        #expect(try BridgeConfiguration.parse(BridgeConfiguration.parse(Self.mailbox).tomlText).store.engine == .sqlite)
    }

    @Test func tlsDisableOnlyForLoopback() throws {
        let remote = ConfigurationErrorTests().problems(Self.mailbox + Self.postgresql + "tls = \"disable\"\n")
        #expect(remote.map(\.option) == ["store.tls"])
        #expect(remote.first?.code == .invalidValue)
        for host in ["127.0.0.1", "localhost", "::1"] {
            let local = Self.mailbox + Self.postgresql.replacingOccurrences(of: "db.example.org", with: host)
                + "tls = \"disable\"\n"
            let configuration = try BridgeConfiguration.parse(local)
            #expect(configuration.store.postgresql?.tls == .disable, "\(host)")
        }
        let unknownMode = ConfigurationErrorTests().problems(Self.mailbox + Self.postgresql + "tls = \"prefer\"\n")
        #expect(unknownMode.map(\.option) == ["store.tls"])
        let caWithoutTLS = ConfigurationErrorTests().problems(
            Self.mailbox + Self.postgresql.replacingOccurrences(of: "db.example.org", with: "127.0.0.1")
                + "tls = \"disable\"\nca-file = \"/etc/ca.pem\"\n")
        #expect(caWithoutTLS.map(\.option) == ["store.ca-file"])
        #expect(caWithoutTLS.first?.code == .conflictingOptions)
    }

    @Test func missingAndMisplacedOptionsAreReported() throws {
        let missing = ConfigurationErrorTests().problems(Self.mailbox + "[store]\nengine = \"postgresql\"\n")
        #expect(Set(missing.map(\.option)) == ["store.host", "store.password-file"])
        #expect(missing.allSatisfy { $0.code == .missingOption })
        // PostgreSQL options without the engine line: a node would silently stay on SQLite.
        let forgotten = ConfigurationErrorTests().problems(
            Self.mailbox + Self.postgresql.replacingOccurrences(of: "engine = \"postgresql\"\n", with: ""))
        #expect(Set(forgotten.map(\.option)) == ["store.host", "store.password-file"])
        #expect(forgotten.allSatisfy { $0.code == .conflictingOptions })
        let badEngine = ConfigurationErrorTests().problems(Self.mailbox + "[store]\nengine = \"mysql\"\n")
        #expect(badEngine.map(\.option) == ["store.engine"])
        let badPort = ConfigurationErrorTests().problems(Self.mailbox + Self.postgresql + "port = 0\n")
        #expect(badPort.map(\.option) == ["store.port"])
        let badTimeout = ConfigurationErrorTests().problems(
            Self.mailbox + Self.postgresql + "connect-timeout-seconds = 600\n")
        #expect(badTimeout.map(\.option) == ["store.connect-timeout-seconds"])
        let typo = ConfigurationErrorTests().problems(Self.mailbox + Self.postgresql + "pasword = \"x\"\n")
        #expect(typo.map(\.code) == [.unknownOption])
    }

    /// The schema's owner for `mailbridge store migrate-schema` (docs/postgresql.md, "Two roles"): both keys or
    /// neither, another role than `user`, PostgreSQL only; read, defaulted to none and written back.
    @Test func migrationUserAndPasswordFile() throws {
        let server = try #require(try BridgeConfiguration.parse(Self.mailbox + Self.postgresql).store.postgresql)
        #expect(server.migrationUser == nil && server.migrationPasswordFile == nil)
        let text = Self.mailbox + Self.postgresql + """
            migration-user = "mailbridge_owner"
            migration-password-file = "/etc/mailbridge/postgres-owner-password"

            """
        let configuration = try BridgeConfiguration.parse(text)
        let owner = try #require(configuration.store.postgresql)
        #expect(owner.migrationUser == "mailbridge_owner")
        #expect(owner.migrationPasswordFile?.string == "/etc/mailbridge/postgres-owner-password")
        #expect(try BridgeConfiguration.parse(configuration.tomlText).store == configuration.store)
        #expect(ConfigurationCheck.migrationEndpoint(owner).map { "\($0)" }
            == "mailbridge_owner@db.example.org:5432/mailbridge (verify-full)")

        let alone = ConfigurationErrorTests().problems(Self.mailbox + Self.postgresql + "migration-user = \"o\"\n")
        #expect(alone.map(\.option) == ["store.migration-password-file"])
        #expect(alone.first?.code == .conflictingOptions)
        let fileAlone = ConfigurationErrorTests().problems(
            Self.mailbox + Self.postgresql + "migration-password-file = \"/etc/o\"\n")
        #expect(fileAlone.map(\.option) == ["store.migration-password-file"])
        let same = ConfigurationErrorTests().problems(Self.mailbox + Self.postgresql
            + "migration-user = \"mailbridge\"\nmigration-password-file = \"/etc/o\"\n")
        #expect(same.map(\.option) == ["store.migration-user"])
        #expect(same.first?.code == .conflictingOptions)
        let withoutEngine = ConfigurationErrorTests().problems(
            Self.mailbox + "[store]\nmigration-user = \"o\"\nmigration-password-file = \"/etc/o\"\n")
        #expect(Set(withoutEngine.map(\.option)) == ["store.migration-user", "store.migration-password-file"])
        #expect(withoutEngine.allSatisfy { $0.code == .conflictingOptions })
    }

    /// `mailbridge store migrate-schema` needs PostgreSQL and the owner's role; without them it connects nowhere and
    /// says which option is missing (exit status 3).
    @Test func migrateSchemaNeedsTheOwnersRole() async throws {
        let logger = Logger(label: "test.store")
        let sqlite = await StoreSchemaMigration.run(try BridgeConfiguration.parse(Self.mailbox), logger: logger)
        #expect(sqlite.status == .invalidConfiguration)
        #expect(sqlite.output.hasPrefix("store.engine:"))
        let oneRole = await StoreSchemaMigration.run(try BridgeConfiguration.parse(Self.mailbox + Self.postgresql),
                                                     logger: logger)
        #expect(oneRole.status == .invalidConfiguration)
        #expect(oneRole.output.hasPrefix("store.migration-user:"))
    }

    /// A node configured for PostgreSQL whose server it cannot use does not start, says why, and never falls back
    /// to a SQLite store beside it (PostgresGatewayTests runs the daemon on a real server).
    @Test func aNodeThatCannotReachPostgreSQLDoesNotStartOnSQLite() async throws {
        let folder = "/tmp/mb-no-sqlite-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder))
        configuration.store = .init(engine: .postgresql, postgresql: .init(
            host: "127.0.0.1", passwordFile: try AbsolutePath("\(folder)-missing-password")))
        let error = await #expect(throws: (any Error).self) {
            _ = try await OpenedInstallation.open(configuration, logger: Logger(label: "test.store"))
        }
        let text = FailureExplanation.message(for: try #require(error))
        #expect(text.contains("password"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/threads.sqlite"))
    }
}
