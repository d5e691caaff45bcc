import Foundation
import Logging
@testable import MailBridge
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: the clients' public keys are the same on every node. Two nodes with their own GnuPG homes share one
/// real PostgreSQL: a key node A imported and published is usable on node B after one pull, a refreshed copy (new
/// expiry) replaces it, PostgreSQL holds neither the key's address nor its fingerprint, and a row moved under another
/// key's row key does not open.
@Suite(.serialized) struct SharedPublicKeysTests {
    static let logger = Logger(label: "test.shared-keys")

    @Test(.timeLimit(.minutes(3))) func aKeyPublishedOnOneNodeIsUsableOnTheOther() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let endpoint = PostgresEndpoint(host: server.host, port: server.port, database: database.name,
                                        user: database.user, passwordFile: database.passwordFile.path,
                                        tls: .disable, connectTimeoutSeconds: 5)
        _ = try await PostgresStore.open(endpoint, logger: Self.logger)
        let connections = try PostgresDatabase(endpoint, maximumConnections: 4, logger: Self.logger)
        let pool = Task { await connections.run() }
        defer { pool.cancel() }
        let master = MasterKey.generate()
        let shelf = try await PostgresKeyShelf.open(connections, masterKey: master, logger: Self.logger)

        let root = URL(fileURLWithPath: "/tmp/mb-keys-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let client = try GnuPGClient(home: root.appendingPathComponent("cl"))
        defer { client.kill() }
        let nodes = try ["a", "b"].map { name in
            try PGPService(configuration: PGPConfiguration(homeDirectory: root.appendingPathComponent(name)))
        }
        defer {
            for name in ["a", "b"] {
                _ = try? Shell.run("gpgconf", ["--homedir", root.appendingPathComponent(name).path, "--kill", "all"],
                                   allowFailure: true)
            }
        }
        let tag = UUID().uuidString.prefix(8).lowercased()
        let address = "klient-\(tag)@example.net"
        let key = try client.makeKey(address, expiry: "1y")
        let a = SharedKeys(shelf: shelf, pgp: nodes[0], logger: Self.logger)
        let b = SharedKeys(shelf: shelf, pgp: nodes[1], logger: Self.logger)

        // Node A imports the client's key (as the pipeline does from an Autocrypt header) and publishes it.
        _ = try await nodes[0].importPublicKeys(try client.gpg(["--export", key.hex]).stdout)
        try await a.publish(key)
        #expect(try await nodes[1].key(key) == nil)
        #expect(try await b.pull() == 1)
        let onB = try #require(try await nodes[1].key(key))
        #expect(onB.fingerprint == key && onB.emails == [address] && onB.isUsableForEncryption)
        // B can encrypt to it, and the client reads it.
        let ciphertext = try await nodes[1].encrypt(Array("Antwort".utf8), to: [key], signer: nil)
        #expect(try client.gpg(["--decrypt"], stdin: ciphertext).stdout == Array("Antwort".utf8))
        // The overlap reads it again: nothing imported twice, and A does not import its own key back.
        #expect(try await b.pull() == 0)
        #expect(try await a.pull() == 0)

        // A refreshed copy (new expiry) replaces the shelf's, and B takes it.
        let before = try #require(onB.expiresAt)
        try client.gpg(["--quick-set-expire", key.hex, "2y"])
        _ = try await nodes[0].importPublicKeys(try client.gpg(["--export", key.hex]).stdout)
        try await a.publish(key)
        #expect(try await b.pull() == 1)
        let refreshed = try #require(try await nodes[1].key(key)?.expiresAt)
        #expect(refreshed > before)

        // PostgreSQL holds the key sealed: no address, no fingerprint, in the table, the data folder or a dump.
        let rows = try server.psql("SELECT encode(key_hmac, 'hex') || encode(sealed, 'hex') FROM public_key",
                                   database: database.name)
        #expect(!rows.lowercased().contains(key.hex.lowercased()))
        try await offCooperativePool { try server.psql("CHECKPOINT") }
        let hits = try await offCooperativePool {
            try PostgresCanaryScan.folder(server.dataDirectory, for: [address])
                + PostgresCanaryScan.dump(database.name, on: server, for: [address, key.hex])
        }
        #expect(hits.isEmpty, "\(hits)")

        // A row moved under another key's row key does not open: nothing is imported from it, and the rows after it
        // still arrive (one damaged row does not stop the shelf).
        let other = try client.makeKey("anders-\(tag)@example.net")
        _ = try await nodes[0].importPublicKeys(try client.gpg(["--export", other.hex]).stdout)
        try await a.publish(other)
        _ = try server.psql("""
            UPDATE public_key SET sealed = (SELECT sealed FROM public_key
                                            WHERE key_hmac = decode('\(shelf.rowKey(key).hexString)', 'hex'))
            WHERE key_hmac = decode('\(shelf.rowKey(other).hexString)', 'hex')
            """, database: database.name)
        #expect(try await b.pull() == 0)
        #expect(try await nodes[1].key(other) == nil)
        let third = try client.makeKey("dritte-\(tag)@example.net")
        _ = try await nodes[0].importPublicKeys(try client.gpg(["--export", third.hex]).stdout)
        try await a.publish(third)
        #expect(try await b.pull() == 1)
        #expect(try await nodes[1].key(third) != nil)
        #expect(try await nodes[1].key(other) == nil)
        for node in nodes { try? await node.shutdown() }
    }
}

extension Data {
    fileprivate var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
