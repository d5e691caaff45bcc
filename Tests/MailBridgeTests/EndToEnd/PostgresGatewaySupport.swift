import Foundation
import Logging
import MailBridge
import NIOCore
import StorePostgres
import TestSupport
import Testing
import ThreadStore

extension BridgeConfiguration {
    /// `[store]` on a test database of the private server, without TLS (loopback), under the node name `node`;
    /// `port` replaces the server's (a relay in front of it).
    mutating func usePostgreSQL(_ database: TestDatabase, node: String, port: Int? = nil) throws {
        var postgresql = BridgeConfiguration.PostgreSQL(
            host: database.server.host, passwordFile: try AbsolutePath(database.passwordFile.path))
        postgresql.port = port ?? database.server.port
        postgresql.database = database.name
        postgresql.user = database.user
        postgresql.tls = .disable
        postgresql.nodeID = node
        store = .init(engine: .postgresql, postgresql: postgresql)
    }
}

/// What the tests of the daemon on PostgreSQL share.
enum PostgresGatewaySupport {
    /// A counsellor of the field `allgemein` on the shared database, as the reader of the inbox seam.
    static func counsellor(_ webState: PostgresWebState, channel: AuditChannel = .browser) async throws
        -> (account: AccountID, actor: InboxActor)
    {
        let field = try CounsellingField("allgemein")
        let account = try await webState.createAccount(
            NewAccount(username: "anna", displayName: "Anna", role: .counsellor, fields: [field],
                       passwordHash: try await PasswordHasher(cost: 4).hash("ein langes Passwort 123")),
            actor: nil, via: .commandLine)
        return (account, InboxActor(account: account, channel: channel, scope: InboxScope(fields: [field])))
    }

    /// The administrator's provisioning of a further node (docs/operations.md, "Running several nodes"): the
    /// first node's master key, copied before the new node first starts. Its GnuPG home starts empty: the gateway
    /// keys come from the database's key shelf.
    static func provision(masterKey: String, toMasterKey: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: (toMasterKey as NSString).deletingLastPathComponent,
                                    withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try manager.copyItem(atPath: masterKey, toPath: toMasterKey)
    }

    /// Node configurations on one database, each with its own data folder under `root` (named for the node); the
    /// first node's data folder is prepared (its master key made). Copy the key to the others with
    /// ``provision(masterKey:toMasterKey:)``.
    static func nodes(_ names: [String], on database: TestDatabase, under root: URL) throws -> [BridgeConfiguration] {
        let nodes = try names.map { node in
            var configuration = BridgeConfiguration.embeddedDefault(
                dataFolder: try AbsolutePath(root.appendingPathComponent(node).path))
            try configuration.usePostgreSQL(database, node: node)
            return configuration
        }
        if let first = nodes.first { try DataFolderInitializer.prepare(first) }
        return nodes
    }

    /// Stops the gpg-agents of `nodes` and removes `root`.
    static func remove(_ nodes: [BridgeConfiguration], root: URL) {
        for configuration in nodes {
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        try? FileManager.default.removeItem(at: root)
    }

    /// Sends `mail` with swaks to the gateway's SMTP port (the file goes into `folder`) and expects `250`.
    static func send(_ mail: String, from: String, to gateway: Gateway, folder: URL) async throws {
        let port = try #require(gateway.listener.localAddress?.port)
        let file = folder.appendingPathComponent("mail-\(UUID().uuidString.prefix(6)).eml")
        try Data(mail.utf8).write(to: file)
        let swaks = try await offCooperativePool {
            try Shell.run("swaks", ["--server", "127.0.0.1:\(port)", "--from", from, "--to", "beratung@localhost",
                                    "--data", file.path])
        }
        #expect(swaks.stdout.text.contains("250 2.0.0"), "\(swaks.stdout.text.suffix(300))")
    }
}

extension PostgresGatewaySupport {
    /// The `[store]` section of a `mailbridge serve` configuration (``GatewayDaemon``) on `database`, as node `node`.
    static func storeSection(_ database: TestDatabase, node: String, leaseSeconds: Int = 10) -> String {
        """
        [store]
        engine = "postgresql"
        host = "\(database.server.host)"
        port = \(database.server.port)
        database = "\(database.name)"
        user = "\(database.user)"
        password-file = "\(database.passwordFile.path)"
        tls = "disable"
        node-id = "\(node)"
        lease-seconds = \(leaseSeconds)
        """
    }
}

/// An installation in a temporary folder, on SQLite or (`postgreSQL`) as node `node-a` of a test database, opened
/// as an administrator's command opens it. ``remove()`` closes it, stops its gpg-agent and deletes the folder.
final class TemporaryInstallation: Sendable {
    let folder: TemporaryFolder
    let installation: OpenedInstallation

    init(postgreSQL: TestDatabase?, label: String) async throws {
        folder = try TemporaryFolder()
        do {
            var configuration = BridgeConfiguration.embeddedDefault(
                dataFolder: try AbsolutePath(folder.path + "/data"))
            if let postgreSQL { try configuration.usePostgreSQL(postgreSQL, node: "node-a") }
            installation = try await OpenedInstallation.open(configuration, logger: Logger(label: label))
        } catch {
            Self.remove(folder)
            throw error
        }
    }

    func remove() async {
        await installation.close()
        Self.remove(folder)
    }

    private static func remove(_ folder: TemporaryFolder) {
        _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"], allowFailure: true)
        folder.remove()
    }
}
