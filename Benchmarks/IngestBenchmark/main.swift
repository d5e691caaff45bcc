// Encrypted ingest: SMTP in → thread stored, through a real Gateway (embedded default, loopback, release build),
// against two baselines measured in the same run on the same ciphertexts:
//   - one `gpg --decrypt` process per message (the shell-loop baseline),
//   - PGPShim's raw decryptAndVerify rate (the engine alone, no SMTP, MIME or store).
// Also the latency from the 250 reply to the thread being visible in the store (p50/p99), sending one message
// at a time, against the time PGPShim alone needs for one message.
// Issue 24: all of these in alternating rounds (BenchmarkRounds: gpg, PGPShim, PGPShim ×2, ingest, latency, then
// again); each ingest round sends `messages` fresh messages (every ciphertext can be imported only once), the
// decryption baselines run for MAILBRIDGE_BENCH_ROUND_SECONDS each. scripts/bench-ingest summarizes the rounds.
//
//   swift run -c release IngestBenchmark [messages per ingest round=100]
import BenchmarkRounds
import Foundation
import Logging
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import ThreadStore

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100 : 100

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let root = URL(fileURLWithPath: "/tmp/mb-ingest-\(getpid())")
let mailClient = try GnuPGClient(home: root.appendingPathComponent("client"))
var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(root.appendingPathComponent("data").path))
configuration.smtp.port = Int.random(in: 40_000...49_000)
configuration.smtp.maxConnectionsPerIP = 100
configuration.metrics.enabled = false
configuration.web.enabled = false
var logger = Logger(label: "bench")
logger.logLevel = .warning
// scripts/bench-keyring: MAILBRIDGE_BENCH_KEYRING names a keybox of many client keys (pubring.kbx), copied into the
// gateway's GnuPG home before it starts, as if that many clients had written before.
if let keyring = ProcessInfo.processInfo.environment["MAILBRIDGE_BENCH_KEYRING"] {
    let home = URL(fileURLWithPath: configuration.keys.gnupgHome.string)
    for folder in [home.deletingLastPathComponent(), home] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }
    try FileManager.default.copyItem(at: URL(fileURLWithPath: keyring), to: home.appendingPathComponent("pubring.kbx"))
}
let gateway = try await Gateway.start(configuration, logger: logger)
let serving = Task { try await gateway.run() }
defer {
    mailClient.kill()
    _ = try? Shell.runLean("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"])
    try? FileManager.default.removeItem(at: root)
}

// Four clients (one per concurrent session, as different people write to a counselling address), the gateway
// key in the client keyring, the client keys in the gateway's. Message i comes from client i % 4.
let gatewayKey = gateway.gatewayKeys["beratung@localhost"]!
try mailClient.gpg(["--import"], stdin: try await gateway.pgp.exportPublicKey(gatewayKey))
let senders = (1...4).map { "klient\($0)@example.net" }
var fingerprints: [String] = []
for sender in senders {
    let fingerprint = try mailClient.makeKey(sender).hex
    _ = try await gateway.pgp.importPublicKeys(try mailClient.gpg(["--export", fingerprint]).stdout)
    fingerprints.append(fingerprint)
}

// Distinct signed+encrypted messages for every round (every ciphertext can be imported only once: replays are
// refused): `count` for each ingest round, `latencyCount` for each latency round.
let schedule = RoundSchedule.current
let latencyCount = max(10, count / 5)
let total = schedule.rounds * (count + latencyCount)
print("preparing \(total) signed+encrypted messages of about 4 KB …")
var built: [String] = []
for index in 0..<total {
    let inner = "Content-Type: text/plain; charset=utf-8\r\n\r\nNachricht \(index) "
        + String(repeating: "Lorem ipsum dolor sit amet. ", count: 140) + "\r\n"
    let armored = try mailClient.gpg(["--armor", "--sign", "--local-user", fingerprints[index % 4], "--encrypt", "--recipient",
                                  gatewayKey.hex], stdin: Array(inner.utf8)).stdout
    built.append(String(decoding: armored, as: UTF8.self))
}
let ciphertexts = built
func mail(_ index: Int) -> ByteBuffer {
    ByteBuffer(string: """
        From: \(senders[index % 4])\r
        To: beratung@localhost\r
        Subject: ...\r
        Message-ID: <bench-\(index)-\(UUID())@example.net>\r
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
        \(ciphertexts[index].replacingOccurrences(of: "\n", with: "\r\n"))\r
        --b--\r

        """)
}

let pgp = gateway.pgp
let decryptable = ciphertexts.prefix(count).map { Array($0.utf8) }
let client = SMTPClient(configuration: SMTPClientConfiguration(
    host: "127.0.0.1", port: configuration.smtp.port, tlsMode: .none, heloName: "bench.example"))
func envelope(_ index: Int) throws -> OutboundEnvelope {
    OutboundEnvelope(reversePath: .mailbox(try EmailAddress(senders[index % 4])),
                     recipients: [try EmailAddress("beratung@localhost")])
}
let field = try CounsellingField("allgemein")
func storedMessages() async throws -> Int {
    try await gateway.store.read { try $0.listThreads(field: field, limit: 500) }.reduce(0) { $0 + $1.messageCount }
}
var nextMessage = 0
@MainActor func takeMessages(_ wanted: Int) -> Range<Int> {
    defer { nextMessage += wanted }
    return nextMessage..<(nextMessage + wanted)
}

// Baseline 1: a gpg process per message, decrypting with the gateway's keyring.
@MainActor func gpgRound() async throws -> Double {
    try await rate { index in
        _ = try Shell.runLean("gpg", ["--homedir", configuration.keys.gnupgHome.string, "--batch", "--decrypt"],
                              stdin: Data(decryptable[index % count]))
    }
}
// Baseline 2: PGPShim alone.
@MainActor func shimRound() async throws -> Double {
    try await rate { index in
        let outcome = try await pgp.decryptAndVerify(decryptable[index % count])
        guard case .decrypted = outcome else { fatalError("decrypt") }
    }
}
// Baseline 3: PGPShim alone with as many operations at once as the gateway's context pool allows (the runner's
// concurrency), on the same ciphertexts, until the round's time is up.
@MainActor func shimPoolRound() async throws -> Double {
    let lanes = pgp.configuration.maximumConcurrentOperations, batch = decryptable, limit = count
    let end = ContinuousClock.now + .milliseconds(Int64(schedule.seconds * 1000))
    var done = 0
    let seconds = try await elapsedSeconds {
        done = try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var mine = 0
                    repeat {
                        guard case .decrypted = try await pgp.decryptAndVerify(batch[(lanes * mine + lane) % limit])
                        else { fatalError() }
                        mine += 1
                    } while ContinuousClock.now < end
                    return mine
                }
            }
            var sum = 0
            for try await done in group { sum += done }
            return sum
        }
    }
    return Double(done) / seconds
}
// Ingest through the running gateway (the runner processes up to 2 spooled messages at once, one lane per
// sender): `count` fresh messages over 4 concurrent sessions (one per client), until all are stored.
@MainActor func ingestRound() async throws -> Double {
    let batch = takeMessages(count)
    let before = try await storedMessages()
    let seconds = try await elapsedSeconds {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                let mine = Array(stride(from: batch.lowerBound + lane, to: batch.upperBound, by: 4))
                let messages = try mine.map { (try envelope($0), mail($0)) }
                group.addTask {
                    for (envelope, message) in messages {
                        guard (await client.deliver(envelope, message: message)).isDelivered else { fatalError("SMTP") }
                    }
                }
            }
            try await group.waitForAll()
        }
        while try await storedMessages() < before + count { try await Task.sleep(for: .milliseconds(2)) }
    }
    return Double(count) / seconds
}
// Latency: one message at a time, 250 → visible in the store (polled every millisecond); p50 and p99 in ms.
@MainActor func latencyRound() async throws -> [String: Double] {
    var measured: [Double] = []
    for index in takeMessages(latencyCount) {
        let before = try await storedMessages()
        guard (await client.deliver(try envelope(index), message: mail(index))).isDelivered else { fatalError("SMTP") }
        measured.append(try await elapsedSeconds {
            while try await storedMessages() == before { try await Task.sleep(for: .milliseconds(1)) }
        } * 1000)
    }
    let sorted = measured.sorted()
    func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    return ["p50": percentile(0.5), "p99": percentile(0.99)]
}

let poolSize = pgp.configuration.maximumConcurrentOperations
try await alternateRounds(
    sides: [
        ("gpg", { ["gpg": try await gpgRound()] }),
        ("shim", {
            let rate = try await shimRound()
            // The latency baseline: the time PGPShim alone needs for one message, in the same round.
            return ["shim": rate, "decrypt ms": 1000 / rate]
        }),
        ("shim pool", { ["shim pool": try await shimPoolRound()] }),
        ("ingest", { ["ingest": try await ingestRound()] }),
        ("latency", { try await latencyRound() }),
    ],
    figures: [
        BenchmarkFigure("encrypted ingest SMTP→thread vs gpg --decrypt loop", unit: "msg/s",
                        value: "ingest", baseline: "gpg"),
        BenchmarkFigure("encrypted ingest SMTP→thread vs PGPShim decrypt alone", unit: "msg/s",
                        value: "ingest", baseline: "shim"),
        BenchmarkFigure("encrypted ingest SMTP→thread vs PGPShim, \(poolSize) at once", unit: "msg/s",
                        value: "ingest", baseline: "shim pool"),
        BenchmarkFigure("latency 250→thread visible p50 vs one PGPShim decrypt", unit: "ms",
                        value: "p50", baseline: "decrypt ms"),
        BenchmarkFigure("latency 250→thread visible p99 vs one PGPShim decrypt", unit: "ms",
                        value: "p99", baseline: "decrypt ms"),
    ]
)
serving.cancel()
_ = await serving.result
