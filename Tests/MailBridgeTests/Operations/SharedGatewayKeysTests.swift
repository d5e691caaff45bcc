import Foundation
import Logging
@testable import MailBridge
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: the gateway keys are the same on every node. Two installations (two nodes, each with its own data
/// folder and GnuPG home, the same master key) on one real PostgreSQL database: a node that starts with an empty
/// GnuPG home takes the first node's key from the database's key shelf and decrypts and signs with it; a rotation,
/// a revocation and an expiry extension made on one node reach the other within one refresh of its gateway key
/// service; two nodes starting at once on a new database agree on one key; the shelf holds the keys sealed.
@Suite(.serialized) struct SharedGatewayKeysTests {
    /// Two node configurations on one new database; node A's master key copied to node B (docs/operations.md).
    final class TwoNodes: @unchecked Sendable {
        let root = URL(fileURLWithPath: "/tmp/mb-gwkeys-\(UUID().uuidString.prefix(8))")
        let database: TestDatabase
        let a: BridgeConfiguration
        let b: BridgeConfiguration
        let logs = LogCapture()
        let client: GnuPGClient

        init() async throws {
            database = try await PostgresServer.shared().makeDatabase()
            let nodes = try PostgresGatewaySupport.nodes(["node-a", "node-b"], on: database, under: root)
            (a, b) = (nodes[0], nodes[1])
            try PostgresGatewaySupport.provision(masterKey: a.keys.masterKeyFile.string,
                                                 toMasterKey: b.keys.masterKeyFile.string)
            client = try GnuPGClient(home: root.appendingPathComponent("client"))
        }

        func open(_ configuration: BridgeConfiguration, _ name: String) async throws -> OpenedInstallation {
            try await OpenedInstallation.open(configuration, logger: logs.logger(name))
        }

        /// Node `installation`'s gateway key service on a directory of its mailboxes, as `serve` runs it.
        func service(_ installation: OpenedInstallation, now: @escaping @Sendable () -> Date = { Date() })
            -> (GatewayKeyService, MailboxDirectory)
        {
            let directory = MailboxDirectory(installation.mailboxes)
            let lifecycle = GatewayKeyLifecycle(
                ledger: installation.stores.gatewayKeys, pgp: installation.pgp,
                policy: GatewayKeyPolicy(installation.configuration.keys), logger: logs.logger("service"),
                shared: installation.sharedGatewayKeys, now: now)
            return (GatewayKeyService(lifecycle: lifecycle, directory: directory, help: nil, metrics: nil,
                                      logger: logs.logger("service")), directory)
        }

        func remove() {
            client.kill()
            PostgresGatewaySupport.remove([a, b], root: root)
        }
    }
   static let mailbox = "beratung@localhost"

    @Test(.timeLimit(.minutes(4))) func aKeyMadeOrChangedOnOneNodeIsUsedOnTheOther() async throws {
        let nodes = try await TwoNodes()
        defer { nodes.remove() }
        let a = try await nodes.open(nodes.a, "a")
        let key = try #require(a.gatewayKeys[Self.mailbox])
        let b = try await nodes.open(nodes.b, "b")
        #expect(b.gatewayKeys[Self.mailbox] == key)
        #expect(try await b.pgp.key(key, secret: true)?.canSign == true)

        // Node B decrypts what a client encrypted to the key, and signs with it.
        let clientKey = try nodes.client.makeKey("klient@example.net")
        try nodes.client.gpg(["--import"], stdin: try await a.pgp.exportPublicKey(key))
        let ciphertext = try nodes.client.gpg(["--encrypt", "--recipient", key.hex], stdin: Array("geheim".utf8))
            .stdout
        guard case .decrypted(let message) = try await b.pgp.decryptAndVerify(ciphertext, forKeys: [key]) else {
            Issue.record("node B did not decrypt with the shared key")
            return
        }
        #expect(message.plaintext.bytes == Array("geheim".utf8))
        _ = try await b.pgp.importPublicKeys(try nodes.client.gpg(["--export", clientKey.hex]).stdout)
        let signed = try await b.pgp.encrypt(Array("Antwort".utf8), to: [clientKey], signer: key)
        let read = try nodes.client.gpg(["--status-fd", "1", "--decrypt"], stdin: signed).stdout.text
        #expect(read.contains("[GNUPG:] VALIDSIG") && read.contains(key.hex))

        // A rotation on node A: node B's next refresh makes the new key current there, with its secret part, and
        // takes the old key's moved expiry (WKD on node B serves it as node A does).
        let (serviceB, directoryB) = nodes.service(b)
        let rotated = try await a.gatewayKeyLifecycle(logger: nodes.logs.logger("rotate")).rotate(
            try EmailAddress(Self.mailbox))
        await serviceB.refresh()
        #expect(directoryB.all[0].gatewayKey == rotated)
        #expect(directoryB.all[0].keySet.overlap == [key])
        #expect(try await b.pgp.key(rotated, secret: true) != nil)
        try nodes.client.gpg(["--import"], stdin: try await a.pgp.exportPublicKey(rotated))
        let oldExpiry = try #require(try await a.pgp.key(key)?.expiresAt)
        #expect(try await b.pgp.key(key)?.expiresAt == oldExpiry)
        let toNew = try nodes.client.gpg(["--encrypt", "--recipient", rotated.hex], stdin: Array("neu".utf8)).stdout
        guard case .decrypted = try await b.pgp.decryptAndVerify(toNew, forKeys: [rotated]) else {
            Issue.record("node B did not decrypt with the rotated key")
            return
        }

        // A revocation of the old key on node A is in node B's keyring after its next refresh.
        _ = try await a.gatewayKeyLifecycle(logger: nodes.logs.logger("revoke")).revoke(
            try EmailAddress(Self.mailbox), fingerprint: key, reason: "test")
        #expect(try await b.pgp.key(key)?.isRevoked == false)
        await serviceB.refresh()
        #expect(try await b.pgp.key(key)?.isRevoked == true)
        #expect(directoryB.all[0].keySet.overlap.isEmpty)

        // An expiry extension made by node B's hourly check (its clock two years on) reaches node A. (A second
        // apart from the last self-signature: gpg takes the newest.)
        try await Task.sleep(for: .seconds(1.1))
        let later = Date().addingTimeInterval(2 * 365 * 86_400)
        let (serviceLate, _) = nodes.service(b, now: { later })
        await serviceLate.runOnce(forceCheck: true)
        let extended = try #require(try await b.pgp.key(rotated)?.expiresAt)
        #expect(extended != (try await a.pgp.key(rotated)?.expiresAt))
        let (serviceA, directoryA) = nodes.service(a)
        await serviceA.refresh()
        #expect(try await a.pgp.key(rotated)?.expiresAt == extended)
        #expect(directoryA.all[0].gatewayKey == rotated)

        // PostgreSQL holds the keys sealed: neither fingerprint nor any stretch of the exported key in clear.
        let exported = try await a.pgp.exportGatewaySecretKey(rotated)
        let rows = try nodes.database.server.psql(
            "SELECT encode(key_hmac, 'hex') || ':' || encode(sealed, 'hex') FROM gateway_secret_key",
            database: nodes.database.name)
        #expect(rows.split(separator: "\n").count == 2)
        for fingerprint in [key, rotated] { #expect(!rows.lowercased().contains(fingerprint.hex.lowercased())) }
        let stretch = exported[exported.count / 2..<exported.count / 2 + 24].map { String(format: "%02x", $0) }
        #expect(!rows.contains(stretch.joined()))
        #expect(!nodes.logs.all.joined().contains("PRIVATE KEY"))

        for installation in [a, b] { await installation.close() }
    }

    @Test(.timeLimit(.minutes(3))) func twoNodesStartingAtOnceAgreeOnOneKey() async throws {
        let nodes = try await TwoNodes()
        defer { nodes.remove() }
        async let first = nodes.open(nodes.a, "a")
        async let second = nodes.open(nodes.b, "b")
        let (a, b) = try await (first, second)
        let key = try #require(a.gatewayKeys[Self.mailbox])
        #expect(b.gatewayKeys[Self.mailbox] == key)
        #expect(try await a.pgp.key(key, secret: true) != nil)
        #expect(try await b.pgp.key(key, secret: true) != nil)
        let records = try await a.stores.gatewayKeys.gatewayKeys(mailbox: nil)
        #expect(records.filter { $0.state == .current }.map(\.fingerprint) == [key])
        for installation in [a, b] { await installation.close() }
    }

    @Test(.timeLimit(.minutes(3))) func aNodeWithoutTheKeyAndWithoutTheShelfSaysWhatIsMissing() async throws {
        let nodes = try await TwoNodes()
        defer { nodes.remove() }
        let a = try await nodes.open(nodes.a, "a")
        await a.close()
        _ = try nodes.database.server.psql("DELETE FROM gateway_secret_key", database: nodes.database.name)
        do {
            let opened = try await nodes.open(nodes.b, "b")
            await opened.close()
            Issue.record("node B started without its gateway key")
        } catch {
            #expect("\(error)".contains("neither in the GnuPG home nor on the database's key shelf"), "\(error)")
        }
        // Node A, which holds the key, puts it back on the shelf when it starts; then node B starts.
        await (try await nodes.open(nodes.a, "a-again")).close()
        let b = try await nodes.open(nodes.b, "b-again")
        #expect(try await b.pgp.key(try #require(b.gatewayKeys[Self.mailbox]), secret: true) != nil)
        await b.close()
    }
}
