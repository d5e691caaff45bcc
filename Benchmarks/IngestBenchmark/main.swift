// Encrypted ingest: SMTP in → thread stored, through a real Gateway (embedded default, loopback, release build),
// against two baselines measured in the same run on the same ciphertexts:
//   - one `gpg --decrypt` process per message (the shell-loop baseline),
//   - PGPShim's raw decryptAndVerify rate (the engine alone, no SMTP, MIME or store).
// Also the latency from the 250 reply to the thread being visible in the store (p50/p99), sending one message
// at a time.
//
//   swift run -c release IngestBenchmark [messages=100]
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

// 2 × count distinct signed+encrypted messages (every ciphertext can be imported only once: replays are refused).
print("preparing \(2 * count) signed+encrypted messages of about 4 KB …")
var built: [String] = []
for index in 0..<(2 * count) {
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

// Baseline 1: a gpg process per message, decrypting with the gateway's keyring.
var start = ContinuousClock.now
for text in ciphertexts.prefix(count) {
    _ = try Shell.runLean("gpg", ["--homedir", configuration.keys.gnupgHome.string, "--batch", "--decrypt"], stdin: Data(text.utf8))
}
let gpgRate = Double(count) / seconds(ContinuousClock.now - start)

// Baseline 2: PGPShim alone.
start = ContinuousClock.now
for text in ciphertexts.prefix(count) {
    guard case .decrypted = try await gateway.pgp.decryptAndVerify(Array(text.utf8)) else { fatalError("decrypt") }
}
let shimRate = Double(count) / seconds(ContinuousClock.now - start)

// Baseline 3: PGPShim alone with as many operations at once as the gateway's context pool allows (the runner's
// concurrency), on the same ciphertexts.
start = ContinuousClock.now
let pgp = gateway.pgp
try await withThrowingTaskGroup(of: Void.self) { group in
    for text in ciphertexts.prefix(count) {
        group.addTask { guard case .decrypted = try await pgp.decryptAndVerify(Array(text.utf8)) else { fatalError() } }
    }
    try await group.waitForAll()
}
let shimPoolRate = Double(count) / seconds(ContinuousClock.now - start)

// Ingest through the running gateway (the runner processes up to 2 spooled messages at once, one lane per sender).
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

// Latency: one message at a time, 250 → visible in the store (polled every millisecond).
var measured: [Double] = []
for index in 0..<count {
    let before = try await storedMessages()
    guard (await client.deliver(try envelope(index), message: mail(index))).isDelivered else { fatalError("SMTP refused") }
    let accepted = ContinuousClock.now
    while try await storedMessages() == before { try await Task.sleep(for: .milliseconds(1)) }
    measured.append(seconds(ContinuousClock.now - accepted) * 1000)
}
let latencies = measured.sorted()

// Throughput: the second half over 4 concurrent sessions (one per client), until all are stored.
let baseline = try await storedMessages()
start = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for lane in 0..<4 {
        group.addTask {
            for index in stride(from: count + lane, to: 2 * count, by: 4) {
                guard (await client.deliver(try envelope(index), message: mail(index))).isDelivered else { fatalError("SMTP") }
            }
        }
    }
    try await group.waitForAll()
}
while try await storedMessages() < baseline + count { try await Task.sleep(for: .milliseconds(2)) }
let ingestRate = Double(count) / seconds(ContinuousClock.now - start)

func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
print(String(format: "%-52@ %8.1f msg/s", "gpg --decrypt, one process per message" as NSString, gpgRate))
print(String(format: "%-52@ %8.1f msg/s", "PGPShim decryptAndVerify alone" as NSString, shimRate))
print(String(format: "%-52@ %8.1f msg/s", "PGPShim decryptAndVerify alone, \(pgp.configuration.maximumConcurrentOperations) at once" as NSString, shimPoolRate))
print(String(format: "%-52@ %8.1f msg/s", "SMTP in → thread stored (4 sessions)" as NSString, ingestRate))
print(String(format: "ratio ingest / gpg CLI: %.2f", ingestRate / gpgRate))
print(String(format: "ratio ingest / PGPShim alone: %.2f", ingestRate / shimRate))
print(String(format: "ratio ingest / PGPShim alone, pool: %.2f", ingestRate / shimPoolRate))
print(String(format: "latency 250 → thread visible, one at a time (ms): p50 %.1f  p99 %.1f  max %.1f",
             percentile(0.5), percentile(0.99), latencies.last ?? 0))
// Machine-readable lines for scripts/bench: figure|value|baseline|ratio. The latency baseline is the time
// PGPShim alone needs for one message (1 / its rate), measured above on the same ciphertexts.
let decryptMilliseconds = 1000 / shimRate
print(String(format: "RESULT|encrypted ingest SMTP→thread vs gpg --decrypt loop (msg/s)|%.1f|%.1f|%.2f",
             ingestRate, gpgRate, ingestRate / gpgRate))
print(String(format: "RESULT|encrypted ingest SMTP→thread vs PGPShim decrypt alone (msg/s)|%.1f|%.1f|%.2f",
             ingestRate, shimRate, ingestRate / shimRate))
print(String(format: "RESULT|encrypted ingest SMTP→thread vs PGPShim, %d at once (msg/s)|%.1f|%.1f|%.2f",
             pgp.configuration.maximumConcurrentOperations, ingestRate, shimPoolRate, ingestRate / shimPoolRate))
print(String(format: "RESULT|latency 250→thread visible p50 vs one PGPShim decrypt (ms)|%.1f|%.1f|%.2f",
             percentile(0.5), decryptMilliseconds, percentile(0.5) / decryptMilliseconds))
print(String(format: "RESULT|latency 250→thread visible p99 vs one PGPShim decrypt (ms)|%.1f|%.1f|%.2f",
             percentile(0.99), decryptMilliseconds, percentile(0.99) / decryptMilliseconds))
serving.cancel()
_ = await serving.result
