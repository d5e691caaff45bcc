// Issue 21: encrypted ingest (SMTP in → thread stored) through real gateways on each store engine, in one run:
//   - one gateway on the embedded SQLite store (the baseline),
//   - one gateway on PostgreSQL (a private server of this run, with its own fsync, synchronous_commit and
//     full_page_writes on, so that both engines sync every commit),
//   - two gateways on that PostgreSQL database, each taking half of the messages (node B started with a copy of
//     node A's GnuPG home and master key, as docs/operations.md says).
// Alternating rounds (BenchmarkRounds): each round sends `messages` fresh signed and encrypted messages of about
// 4 KB over 4 concurrent SMTP sessions and waits until all are stored. All gateways share this machine's cores:
// two nodes here measure the database and the coordination, not a second machine's CPU (BENCHMARKS.md).
//
//   swift run -c release EngineBenchmark [messages per round=100]
import BenchmarkRounds
import Foundation
import Logging
import MailBridge
import NIOCore
import PGPShim
import StorePostgres
import TestSupport
import ThreadStore

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100 : 100
let root = URL(fileURLWithPath: "/tmp/mb-engines-\(getpid())")
try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
var logger = Logger(label: "bench")
logger.logLevel = .warning

let server = try PostgresServer(tls: false, durable: true)
try server.start()
let database = try await server.makeDatabase()

func configuration(_ name: String, postgresql: Bool) throws -> BridgeConfiguration {
    var configuration = BridgeConfiguration.embeddedDefault(
        dataFolder: try AbsolutePath(root.appendingPathComponent(name).path))
    configuration.smtp.port = try PostgresServer.freePort()
    configuration.smtp.maxConnectionsPerIP = 100
    configuration.metrics.enabled = false
    configuration.web.enabled = false
    if postgresql {
        var store = BridgeConfiguration.PostgreSQL(host: server.host,
                                                   passwordFile: try AbsolutePath(database.passwordFile.path))
        store.port = server.port
        store.database = database.name
        store.user = database.user
        store.tls = .disable
        store.nodeID = name
        configuration.store = .init(engine: .postgresql, postgresql: store)
    }
    return configuration
}

let sqliteConfiguration = try configuration("sqlite", postgresql: false)
let configurationA = try configuration("node-a", postgresql: true)
let configurationB = try configuration("node-b", postgresql: true)
let sqlite = try await Gateway.start(sqliteConfiguration, logger: logger)
let nodeA = try await Gateway.start(configurationA, logger: logger)
// Node B: node A's master key and GnuPG home (the gateway key), copied before it first starts.
let manager = FileManager.default
try manager.createDirectory(atPath: configurationB.data.folder.string, withIntermediateDirectories: true,
                            attributes: [.posixPermissions: 0o700])
try manager.copyItem(atPath: configurationA.keys.masterKeyFile.string, toPath: configurationB.keys.masterKeyFile.string)
try manager.createDirectory(atPath: configurationB.keys.gnupgHome.string, withIntermediateDirectories: true,
                            attributes: [.posixPermissions: 0o700])
for name in ["pubring.kbx", "trustdb.gpg", "private-keys-v1.d"] {
    try manager.copyItem(atPath: configurationA.keys.gnupgHome.string + "/" + name,
                         toPath: configurationB.keys.gnupgHome.string + "/" + name)
}
let nodeB = try await Gateway.start(configurationB, logger: logger)
let gateways = [sqlite, nodeA, nodeB]
let serving = gateways.map { gateway in Task { try await gateway.run() } }
let mailClient = try GnuPGClient(home: root.appendingPathComponent("client"))
defer {
    mailClient.kill()
    for configuration in [sqliteConfiguration, configurationA, configurationB] {
        _ = try? Shell.runLean("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"])
    }
    server.stop()
    try? FileManager.default.removeItem(at: root)
}

// Four clients, their keys in every gateway's keyring; the gateway keys (SQLite's, PostgreSQL's) in the client's.
let senders = (1...4).map { "klient\($0)@example.net" }
var fingerprints: [String] = []
for sender in senders {
    let fingerprint = try mailClient.makeKey(sender).hex
    let exported = try mailClient.gpg(["--export", fingerprint]).stdout
    for gateway in gateways { _ = try await gateway.pgp.importPublicKeys(exported) }
    fingerprints.append(fingerprint)
}
let sqliteKey = sqlite.gatewayKeys["beratung@localhost"]!
let postgresKey = nodeA.gatewayKeys["beratung@localhost"]!
try mailClient.gpg(["--import"], stdin: try await sqlite.pgp.exportPublicKey(sqliteKey))
try mailClient.gpg(["--import"], stdin: try await nodeA.pgp.exportPublicKey(postgresKey))

let schedule = RoundSchedule.current
print("preparing \(schedule.rounds * count * 3) signed+encrypted messages of about 4 KB …")
@MainActor func ciphertexts(_ gatewayKey: KeyFingerprint, _ total: Int) throws -> [String] {
    try (0..<total).map { index in
        let inner = "Content-Type: text/plain; charset=utf-8\r\n\r\nNachricht \(index) "
            + String(repeating: "Lorem ipsum dolor sit amet. ", count: 140) + "\r\n"
        return String(decoding: try mailClient.gpg(
            ["--armor", "--sign", "--local-user", fingerprints[index % 4], "--encrypt", "--recipient", gatewayKey.hex],
            stdin: Array(inner.utf8)).stdout, as: UTF8.self)
    }
}
let forSQLite = try ciphertexts(sqliteKey, schedule.rounds * count)
let forPostgres = try ciphertexts(postgresKey, schedule.rounds * count * 2)
func mail(_ ciphertext: String, _ index: Int) -> ByteBuffer {
    ByteBuffer(string: """
        From: \(senders[index % 4])\r
        To: beratung@localhost\r
        Subject: ...\r
        Message-ID: <engines-\(index)-\(UUID())@example.net>\r
        MIME-Version: 1.0\r
        Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"\r
        \r
        --b\r
        Content-Type: application/pgp-encrypted\r
        \r
        Version: 1\r
        \r
        --b\r
        Content-Type: application/octet-stream\r
        \r
        \(ciphertext.replacingOccurrences(of: "\n", with: "\r\n"))\r
        --b--\r

        """)
}
func envelope(_ index: Int) throws -> OutboundEnvelope {
    OutboundEnvelope(reversePath: .mailbox(try EmailAddress(senders[index % 4])),
                     recipients: [try EmailAddress("beratung@localhost")])
}
func client(_ gateway: Gateway) -> SMTPClient {
    SMTPClient(configuration: SMTPClientConfiguration(
        host: "127.0.0.1", port: gateway.listener.localAddress!.port!, tlsMode: .none, heloName: "bench.example"))
}
let clients = (sqlite: client(sqlite), a: client(nodeA), b: client(nodeB))

let field = try CounsellingField("allgemein")
guard case .postgresql(let shared) = nodeA.engine else { fatalError("node A is not on PostgreSQL") }
func storedOnSQLite() async throws -> Int {
    try await sqlite.store.read { try $0.listThreads(field: field, limit: 500) }.reduce(0) { $0 + $1.messageCount }
}
func storedOnPostgres() async throws -> Int {
    try await shared.threads.listInbox(scope: InboxScope(fields: [field]), state: nil, assignment: nil,
                                       order: .lastActivity, limit: 500, after: nil)
        .reduce(0) { $0 + $1.summary.messageCount }
}

var nextSQLite = 0
var nextPostgres = 0
/// Sends `count` messages over 4 sessions, spread over `targets` in turn, and waits until `stored` grew by `count`.
/// Returns the accept rate (until the last `250`) and the ingest rate (until the last message is stored).
@MainActor func ingest(_ targets: [SMTPClient], _ ciphertexts: [String], from first: Int,
                       stored: () async throws -> Int) async throws -> (accept: Double, ingest: Double) {
    let before = try await stored()
    var acceptSeconds = 0.0
    let seconds = try await elapsedSeconds {
        acceptSeconds = try await elapsedSeconds { try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                let mine = Array(stride(from: first + lane, to: first + count, by: 4))
                let messages = try mine.map { (try envelope($0), mail(ciphertexts[$0], $0), targets[$0 % targets.count]) }
                group.addTask {
                    for (envelope, message, client) in messages {
                        guard (await client.deliver(envelope, message: message)).isDelivered else { fatalError("SMTP") }
                    }
                }
            }
            try await group.waitForAll()
        } }
        while try await stored() < before + count { try await Task.sleep(for: .milliseconds(5)) }
    }
    return (Double(count) / acceptSeconds, Double(count) / seconds)
}

/// The figures of one side: its ingest rate under `name`, its accept rate under `name` + " accept".
func figures(_ name: String, _ rates: (accept: Double, ingest: Double)) -> [String: Double] {
    [name: rates.ingest, name + " accept": rates.accept]
}

try await alternateRounds(
    sides: [
        ("sqlite", {
            defer { nextSQLite += count }
            return figures("sqlite", try await ingest([clients.sqlite], forSQLite, from: nextSQLite,
                                                      stored: storedOnSQLite))
        }),
        ("postgresql", {
            defer { nextPostgres += count }
            return figures("postgresql", try await ingest([clients.a], forPostgres, from: nextPostgres,
                                                          stored: storedOnPostgres))
        }),
        ("two nodes", {
            defer { nextPostgres += count }
            return figures("two nodes", try await ingest([clients.a, clients.b], forPostgres, from: nextPostgres,
                                                         stored: storedOnPostgres))
        }),
    ],
    figures: [
        BenchmarkFigure("encrypted ingest SMTP→thread, PostgreSQL vs SQLite", unit: "msg/s",
                        value: "postgresql", baseline: "sqlite"),
        BenchmarkFigure("encrypted ingest SMTP→thread, two nodes vs one on PostgreSQL (one machine)", unit: "msg/s",
                        value: "two nodes", baseline: "postgresql"),
        // The `250` on PostgreSQL waits for the shared spool's commit besides the spool folder's fsync.
        BenchmarkFigure("SMTP accept of the same mail (4 sessions), PostgreSQL vs SQLite", unit: "msg/s",
                        value: "postgresql accept", baseline: "sqlite accept"),
        BenchmarkFigure("SMTP accept of the same mail, two nodes vs one on PostgreSQL (one machine)", unit: "msg/s",
                        value: "two nodes accept", baseline: "postgresql accept"),
    ]
)
for task in serving { task.cancel() }
for task in serving { _ = await task.result }
