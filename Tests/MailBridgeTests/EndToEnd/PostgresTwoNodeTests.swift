import Foundation
import Logging
import MailBridge
import NIOCore
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: two gateway daemons, each with its own data folder, spool and GnuPG home, on one PostgreSQL database.
/// A client's first, signed mail reaches node A, which imports the client's key from its Autocrypt header; the
/// client's next mail, without any key, reaches node B, which must know the key by then (the shared public keys,
/// pulled every two seconds): the words join the same thread with a valid signature, and a counsellor's reply
/// queued on node B goes out encrypted to that key, once.
///
/// Node B starts with a copy of node A's master key and an empty GnuPG home: node A's gateway key reaches it
/// through the database's key shelf.
@Suite(.serialized) struct PostgresTwoNodeTests {
    @Test func aKeyImportedOnNodeAVerifiesAndEncryptsOnNodeB() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let root = URL(fileURLWithPath: "/tmp/mb-two-nodes-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        func configuration(_ node: String) throws -> BridgeConfiguration {
            let folder = root.appendingPathComponent(node)
            var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
            configuration.smtp.port = 0
            configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
            configuration.metrics.enabled = false
            configuration.web.enabled = false
            try configuration.usePostgreSQL(database, node: node)
            return configuration
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let logs = LogCapture()
        let configurationA = try configuration("node-a")
        let nodeA = try await Gateway.start(configurationA, logger: logs.logger("a"))
        let runningA = Task { try await nodeA.run() }
        let configurationB = try configuration("node-b")
        try PostgresGatewaySupport.provision(masterKey: configurationA.keys.masterKeyFile.string,
                                             toMasterKey: configurationB.keys.masterKeyFile.string)
        let nodeB = try await Gateway.start(configurationB, logger: logs.logger("b"))
        let runningB = Task { try await nodeB.run() }
        let client = try GnuPGClient(home: root.appendingPathComponent("client-gnupg"))
        defer {
            client.kill()
            for home in [configurationA.keys.gnupgHome.string, configurationB.keys.gnupgHome.string] {
                _ = try? Shell.run("gpgconf", ["--homedir", home, "--kill", "all"], allowFailure: true)
            }
        }
        let gatewayKey = try #require(nodeA.gatewayKeys["beratung@localhost"])
        #expect(nodeB.gatewayKeys["beratung@localhost"] == gatewayKey)
        try client.gpg(["--import"], stdin: try await nodeA.pgp.exportPublicKey(gatewayKey))
        let address = "klient-\(UUID().uuidString.prefix(6).lowercased())@example.net"
        let clientKey = try client.makeKey(address)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"

        // 1. First contact on node A, with the key in an Autocrypt header.
        let first = try EncryptedTestMail.pgpMIME(
            client: client, from: address, to: "beratung@localhost", clientKey: clientKey, gatewayKey: gatewayKey,
            inner: Self.inner("\(canary)-eins"), messageID: "<eins-\(UUID())@example.net>")
        try await PostgresGatewaySupport.send(first, from: address, to: nodeA, folder: root)
        let threads = try Self.threads(nodeA)
        let (account, actor) = try await PostgresGatewaySupport.counsellor(threads.webState)
        let thread = try #require(try await Self.waitForMessages(threads.threads, actor: actor, count: 1))

        // 2. The client's next mail, without any key, on node B: B pulled the key from the shared shelf.
        var deadline = ContinuousClock.now + .seconds(20)
        while try await nodeB.pgp.key(clientKey) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try await nodeB.pgp.key(clientKey) != nil, "node B never got the client's key")
        let withKey = try EncryptedTestMail.pgpMIME(
            client: client, from: address, to: "beratung@localhost", clientKey: clientKey, gatewayKey: gatewayKey,
            inner: Self.inner("\(canary)-zwei"), messageID: "<zwei-\(UUID())@example.net>")
        let second = withKey.split(separator: "\r\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("Autocrypt:") }.joined(separator: "\r\n")
        #expect(!second.contains("Autocrypt:") && second.contains("BEGIN PGP MESSAGE"))
        try await PostgresGatewaySupport.send(second, from: address, to: nodeB, folder: root)
        let opened = try #require(try await Self.waitForMessages(threads.threads, actor: actor, count: 2))
        #expect(opened.thread.id == thread.thread.id, "the second message opened another thread")
        #expect(opened.messages.map(\.verdict) == [.valid, .valid])
        #expect(opened.clientKey?.unredactedDescription == clientKey.hex)

        // 3. A reply queued on node B goes out once, encrypted to the client's key.
        let before = sink.messages().count
        _ = try await nodeB.replies.queueReply(thread: thread.thread.id, text: "Antwort \(canary)-antwort",
                                               counsellor: "Anna", actor: account, via: .browser)
        deadline = ContinuousClock.now + .seconds(30)
        var reply: String?
        while reply == nil, ContinuousClock.now < deadline {
            reply = sink.messages().dropFirst(before).map { String(decoding: $0, as: UTF8.self) }
                .first { $0.contains("To: \(address)") && $0.contains("In-Reply-To") }
            if reply == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let delivered = try #require(reply, "the reply never reached the sink")
        let armored = try #require(delivered.range(of: "-----BEGIN PGP MESSAGE-----").map { range in
            String(delivered[range.lowerBound...]).replacingOccurrences(of: "\r\n", with: "\n")
        })
        let plaintext = try client.gpg(["--decrypt"], stdin: Array(armored.utf8)).stdout.text
        #expect(plaintext.contains("\(canary)-antwort"))
        try await Task.sleep(for: .seconds(1))
        let replies = sink.messages().map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.contains("To: \(address)") && $0.contains("In-Reply-To") }
        #expect(replies.count == 1, "the reply was delivered \(replies.count) times")

        runningB.cancel()
        runningA.cancel()
        _ = await runningB.result
        _ = await runningA.result
        for line in logs.all { #expect(!line.contains(canary), "canary in a log line") }
        for text in sink.messages().map({ String(decoding: $0, as: UTF8.self) }) {
            #expect(!text.contains(canary), "canary in outbound mail")
        }
    }

    static func inner(_ words: String) -> String {
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: Frage\r\n\r\n\(words)\r\n"
    }

    static func threads(_ gateway: Gateway) throws -> OpenedPostgres {
        guard case .postgresql(let opened) = gateway.engine else {
            throw PostgresServerFailure("the gateway did not open PostgreSQL")
        }
        return opened
    }

    /// The only thread of the field once it holds `count` messages (nil after 30 s).
    static func waitForMessages(_ threads: PostgresThreads, actor: InboxActor, count: Int) async throws
        -> InboxThreadView?
    {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let list = try await threads.listInbox(scope: actor.scope, state: nil, assignment: nil,
                                                   order: .lastActivity, limit: 10, after: nil)
            if list.count == 1, let only = list.first {
                let view = try await threads.openThread(only.id, page: MessagePageRequest(), by: actor,
                                                        event: .threadViewed)
                if view.messages.count >= count { return view }
            } else if list.count > 1 {
                Issue.record("\(list.count) threads for one client")
                return nil
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }
}
