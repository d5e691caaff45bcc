// The messages of the store benchmarks, as ThreadStoreBenchmark makes them for SQLite: 10 per thread (one thread
// per client), 4 counselling fields, 1 KiB bodies, every third message outbound, one second apart, message `n`
// to client `n % clients` (so the threads fill in ten passes), one replay fingerprint each.

import Foundation
import ThreadStore

struct BenchmarkMessages: Sendable {
    static let perThread = 10
    let count: Int
    let clients: Int
    let fields: [CounsellingField]
    let body: [UInt8]
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    init(count: Int) throws {
        self.count = count
        clients = max(1, count / Self.perThread)
        fields = try ["sucht", "familie", "schule", "allgemein"].map { try CounsellingField($0) }
        body = Array(String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", count: 18).utf8)
    }

    /// The client of message `number` (its thread).
    func identity(_ client: Int, address: String? = nil) throws -> ClientIdentity {
        ClientIdentity(
            field: fields[client % fields.count],
            key: try ClientKeyFingerprint(String(format: "%040X", client)),
            address: try ClientAddress(address ?? "client\(client)@example.org"))
    }

    /// Message `number`; `fingerprint` makes its replay fingerprint with the store's key.
    func message(_ number: Int, prefix: String = "m",
                 fingerprint: (ReplayFingerprint.Kind, [UInt8]) -> ReplayFingerprint) -> NewMessage {
        NewMessage(
            direction: number % 3 == 2 ? .outbound : .inbound,
            messageID: "<\(prefix)\(number)@bench.example>",
            subject: "Subject \(number)",
            body: body,
            verdict: .valid,
            receivedAt: start.addingTimeInterval(Double(number)),
            replayFingerprints: [fingerprint(.content, Array("ciphertext \(prefix)\(number)".utf8))])
    }
}
