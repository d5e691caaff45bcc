// ThreadStore benchmark (not a test). Inserts N messages (10 per thread, 4 counselling fields, 1 KiB bodies,
// 500 imports per transaction) into a fresh store in a temporary folder, then times the counsellor queries:
// listing a page of 50 threads (first page and a keyset-paged deeper page) and opening a thread, and the
// latency of a durable single import (one message per transaction, fsync'd, as before an SMTP 250).
// Prints one row per size and the ratio list-time(largest)/list-time(smallest).
// Issue 24: the list and open figures compare the largest store with the smallest in alternating rounds
// (BenchmarkRounds: list page 1 large, small, list page 10 large, small, open large, small, then again), each
// for MAILBRIDGE_BENCH_ROUND_SECONDS; the table's per-size columns come from the first 200 calls, as before.
//
// Usage: ThreadStoreBenchmark [message counts...]     default: 10000 1000000
//        scripts/bench-store 10000 100000             (builds in release first)

import BenchmarkRounds
import Foundation
import ThreadStore

struct Result {
    var messages: Int
    var insertSeconds: Double
    var listFirstPage: Double
    var listDeepPage: Double
    var openThread: Double
    var singleImport: Double
    var fileBytes: Int
    /// One call each, for the rounds (the store stays open until the process ends).
    var listFirst: () async throws -> Void
    var listDeep: () async throws -> Void
    var openOne: (Int) async throws -> Void
}

@MainActor func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

@MainActor func run(messages: Int) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appending(path: "threadstore-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    directories.append(directory)
    let url = directory.appending(path: "bench.sqlite")
    let store = try ThreadStore(at: url, masterKey: MasterKey.generate())

    let perThread = 10
    let clients = max(1, messages / perThread)
    let fields = try ["sucht", "familie", "schule", "allgemein"].map { try CounsellingField($0) }
    let body = Array(String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", count: 18).utf8)
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let batch = 500

    let insert = try await seconds {
        var index = 0
        while index < messages {
            let range = index..<min(messages, index + batch)
            try await store.write { tx in
                for number in range {
                    let client = number % clients
                    let identity = ClientIdentity(
                        field: fields[client % fields.count],
                        key: try ClientKeyFingerprint(String(format: "%040X", client)),
                        address: try ClientAddress("client\(client)@example.org")
                    )
                    let message = NewMessage(
                        direction: number % 3 == 2 ? .outbound : .inbound,
                        messageID: "<m\(number)@bench.example>",
                        subject: "Subject \(number)",
                        body: body,
                        verdict: .valid,
                        receivedAt: start.addingTimeInterval(Double(number)),
                        replayFingerprints: [store.replayFingerprint(.content, Data("ciphertext \(number)".utf8))]
                    )
                    _ = try tx.importMessage(message, into: .client(identity))
                }
            }
            index = range.upperBound
        }
    }

    let field = fields[0]
    let rounds = 200
    let listFirst =
        try await seconds {
            for _ in 0..<rounds {
                _ = try await store.read { tx in try tx.listThreads(field: field, state: .open, limit: 50) }
            }
        } / Double(rounds)

    // The 10th page, reached by keyset paging (the cursor is fetched once, outside the timing).
    let cursor = try await store.read { tx in
        var page = try tx.listThreads(field: field, limit: 50)
        for _ in 0..<8 { if let last = page.last { page = try tx.listThreads(field: field, limit: 50, before: last) } }
        return page.last
    }
    let listDeep =
        try await seconds {
            for _ in 0..<rounds {
                _ = try await store.read { tx in try tx.listThreads(field: field, limit: 50, before: cursor) }
            }
        } / Double(rounds)

    let sample = try await store.read { tx in try tx.listThreads(field: field, limit: 50).map(\.id) }
    let open =
        try await seconds {
            for round in 0..<rounds {
                let thread = sample[round % sample.count]
                let opened = try await store.read { tx in try tx.openThread(thread) }
                precondition(opened.messages.count == perThread || messages < perThread * clients)
            }
        } / Double(rounds)

    // Durable single imports (one transaction each, as the SMTP path does before answering 250).
    let singles = 100
    let single =
        try await seconds {
            for number in 0..<singles {
                let identity = ClientIdentity(
                    field: fields[0],
                    key: try ClientKeyFingerprint(String(format: "%040X", clients + number)),
                    address: try ClientAddress("single\(number)@example.org")
                )
                let message = NewMessage(
                    direction: .inbound,
                    messageID: "<single\(number)@bench.example>",
                    subject: "Single \(number)",
                    body: body,
                    verdict: .valid,
                    receivedAt: start.addingTimeInterval(Double(messages + number)),
                    replayFingerprints: [store.replayFingerprint(.content, Data("single ciphertext \(number)".utf8))]
                )
                _ = try await store.write { tx in try tx.importMessage(message, into: .client(identity)) }
            }
        } / Double(singles)

    try await store.checkpoint()
    let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
    return Result(
        messages: messages,
        insertSeconds: insert,
        listFirstPage: listFirst,
        listDeepPage: listDeep,
        openThread: open,
        singleImport: single,
        fileBytes: size,
        listFirst: { _ = try await store.read { tx in try tx.listThreads(field: field, state: .open, limit: 50) } },
        listDeep: { _ = try await store.read { tx in try tx.listThreads(field: field, limit: 50, before: cursor) } },
        openOne: { round in _ = try await store.read { tx in try tx.openThread(sample[round % sample.count]) } }
    )
}
var directories: [URL] = []
defer { for directory in directories { try? FileManager.default.removeItem(at: directory) } }

let counts = CommandLine.arguments.dropFirst().compactMap { Int($0.replacingOccurrences(of: "_", with: "")) }
let sizes = counts.isEmpty ? [10_000, 1_000_000] : counts
guard sizes.allSatisfy({ $0 >= 10 }) else {
    FileHandle.standardError.write(Data("usage: ThreadStoreBenchmark [message counts >= 10...]\n".utf8))
    exit(64)
}

func ms(_ value: Double) -> String { String(format: "%.3f ms", value * 1000) }

print("ThreadStore benchmark: 10 messages/thread, 4 fields, 1 KiB bodies, 500 imports/transaction, synchronous=FULL")
func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

print(
    [
        pad("messages", 9), pad("insert total", 13), pad("inserts/s", 10), pad("list page 1", 12),
        pad("list page 10", 13), pad("open thread", 12), pad("single import", 14), pad("db size", 11),
    ].joined(separator: "  ")
)
var results: [Result] = []
for size in sizes {
    let result = try await run(messages: size)
    results.append(result)
    print(
        [
            pad(String(result.messages), 9),
            pad(String(format: "%.2f s", result.insertSeconds), 13),
            pad(String(format: "%.0f", Double(result.messages) / result.insertSeconds), 10),
            pad(ms(result.listFirstPage), 12),
            pad(ms(result.listDeepPage), 13),
            pad(ms(result.openThread), 12),
            pad(ms(result.singleImport), 14),
            pad(String(format: "%.1f MiB", Double(result.fileBytes) / 1_048_576), 11),
        ].joined(separator: "  ")
    )
}
if let first = results.first, let last = results.last, results.count > 1 {
    print(
        String(
            format: "ratio list-time(%d)/list-time(%d): page 1 %.2f, page 10 %.2f; open-time ratio %.2f",
            last.messages,
            first.messages,
            last.listFirstPage / first.listFirstPage,
            last.listDeepPage / first.listDeepPage,
            last.openThread / first.openThread
        )
    )
}
// Rounds for scripts/bench (ROUND lines; scripts/lib/benchrounds.py makes the RESULT lines): the largest size
// against the smallest, per call in ms.
if let first = results.first, let last = results.last, results.count > 1 {
    let sizes = "\(last.messages) vs \(first.messages) messages"
    func milliseconds(_ call: @escaping (Int) async throws -> Void) -> () async throws -> Double {
        { 1000 / (try await rate { try await call($0) }) }
    }
    try await alternateRounds(
        sides: [
            ("list 1 large", { ["list 1 large": try await milliseconds({ _ in try await last.listFirst() })()] }),
            ("list 1 small", { ["list 1 small": try await milliseconds({ _ in try await first.listFirst() })()] }),
            ("list 10 large", { ["list 10 large": try await milliseconds({ _ in try await last.listDeep() })()] }),
            ("list 10 small", { ["list 10 small": try await milliseconds({ _ in try await first.listDeep() })()] }),
            ("open large", { ["open large": try await milliseconds(last.openOne)()] }),
            ("open small", { ["open small": try await milliseconds(first.openOne)()] }),
        ],
        figures: [
            BenchmarkFigure("ThreadStore list page 1, \(sizes)", unit: "ms", value: "list 1 large",
                            baseline: "list 1 small"),
            BenchmarkFigure("ThreadStore list page 10, \(sizes)", unit: "ms", value: "list 10 large",
                            baseline: "list 10 small"),
            BenchmarkFigure("ThreadStore open thread, \(sizes)", unit: "ms", value: "open large",
                            baseline: "open small"),
        ]
    )
}
