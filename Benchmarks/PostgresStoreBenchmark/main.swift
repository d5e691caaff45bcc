// PostgreSQL store benchmark (not a test; issue 21): the counsellor inbox's thread list and open at 10 k vs 1 M
// messages, as ThreadStoreBenchmark measures them on SQLite. A private PostgreSQL server of this run (initdb in
// /tmp, loopback, fsync, synchronous_commit and full_page_writes on); per size a fresh database filled with the
// same messages as on SQLite (10 per thread, 4 fields, 1 KiB bodies; see Fill.swift for the two ways), then
// `VACUUM (ANALYZE)`, then the web inbox's calls (`PostgresThreads`, what `CounsellorInbox` calls on PostgreSQL):
//   - list page 1: `listInbox` of one field, the web inbox's default order (waiting first), 51 threads (a page of
//     50 and one to tell whether there is a next page, as InboxRoutes asks);
//   - list page 10: the same after the cursor of page 9 (keyset paging; the cursor is fetched outside the timing);
//   - open: `openThread`, the newest page of messages, audited as `threadViewed` (one SERIALIZABLE transaction
//     that opens the sealed rows, marks them read and writes the audit row), over the threads of page 1;
//   - a durable single import (`importMessage`, one transaction, as before an SMTP 250).
// The table's per-size columns come from 200 calls each; the list and open figures then compare the largest size
// with the smallest in alternating rounds (BenchmarkRounds), and the plans of one list and one open at the
// largest size are printed (QueryPlans.swift).
//
// Usage: PostgresStoreBenchmark [--fill migrate|import] [--lanes N] [message counts...]
//        defaults: --fill migrate, --lanes 1 (import only), 10000 1000000
//        scripts/bench-store-postgres 10000 100000             (builds in release first)

import BenchmarkRounds
import Foundation
import Logging
import StorePostgres
import TestSupport
import ThreadStore

var arguments = Array(CommandLine.arguments.dropFirst())
var method = FillMethod.migrate
var lanes = 1
func usage() -> Never {
    FileHandle.standardError.write(Data(
        "usage: PostgresStoreBenchmark [--fill migrate|import] [--lanes N] [message counts >= 10...]\n".utf8))
    exit(64)
}
while let option = arguments.first, option.hasPrefix("--") {
    arguments.removeFirst()
    guard let value = arguments.first else { usage() }
    arguments.removeFirst()
    switch (option, FillMethod(rawValue: value), Int(value)) {
    case ("--fill", let fill?, _): method = fill
    case ("--lanes", _, let number?): lanes = number
    default: usage()
    }
}
let counts = arguments.map { Int($0.replacingOccurrences(of: "_", with: "")) }
guard counts.allSatisfy({ ($0 ?? 0) >= 10 }), lanes >= 1 else { usage() }
let sizes = counts.isEmpty ? [10_000, 1_000_000] : counts.compactMap { $0 }

var logger = Logger(label: "bench")
logger.logLevel = .warning
let masterKey = MasterKey.generate()
let server = try PostgresServer(tls: false, durable: true)
try server.start()
let scratch = FileManager.default.temporaryDirectory.appending(path: "pgstore-bench-\(getpid())")
defer {
    server.stop()
    try? FileManager.default.removeItem(at: scratch)
}
let version = try server.psql("SHOW server_version").trimmingCharacters(in: .whitespacesAndNewlines)

func ms(_ value: Double) -> String { String(format: "%.3f ms", value * 1000) }
func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

print("""
    PostgreSQL \(version) store benchmark: 10 messages/thread, 4 fields, 1 KiB bodies, fill: \(method.rawValue)\
    \(method == .import ? " (\(lanes) lanes, one transaction per message)" : " (SQLite, then store migrate)"), \
    fsync and synchronous_commit on
    """)
print([
    pad("messages", 9), pad("insert total", 13), pad("inserts/s", 10), pad("list page 1", 12),
    pad("list page 10", 13), pad("open thread", 12), pad("single import", 14), pad("db size", 11),
].joined(separator: "  "))

var results: [SizeResult] = []
for size in sizes {
    let result = try await SizeResult.measure(messages: size, method: method, lanes: lanes, server: server,
                                              masterKey: masterKey, scratch: scratch, logger: logger)
    results.append(result)
    print([
        pad(String(result.messages), 9),
        pad(String(format: "%.2f s", result.fill.total), 13),
        pad(String(format: "%.0f", Double(result.messages) / result.fill.total), 10),
        pad(ms(result.listFirstPage), 12),
        pad(ms(result.listDeepPage), 13),
        pad(ms(result.openThread), 12),
        pad(ms(result.singleImport), 14),
        pad(String(format: "%.1f MiB", Double(result.databaseBytes) / 1_048_576), 11),
    ].joined(separator: "  "))
    if let sqlite = result.fill.sqlite, let copy = result.fill.copy {
        print(String(format: "  (SQLite fill %.2f s, %.0f/s; store migrate %.2f s, %.0f messages/s)", sqlite,
                     Double(size) / sqlite, copy, Double(size) / copy))
    }
}
if let first = results.first, let last = results.last, results.count > 1 {
    print(String(
        format: "ratio list-time(%d)/list-time(%d): page 1 %.2f, page 10 %.2f; open-time ratio %.2f",
        last.messages, first.messages, last.listFirstPage / first.listFirstPage,
        last.listDeepPage / first.listDeepPage, last.openThread / first.openThread))
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
            BenchmarkFigure("PostgreSQL list page 1, \(sizes)", unit: "ms", value: "list 1 large",
                            baseline: "list 1 small"),
            BenchmarkFigure("PostgreSQL list page 10, \(sizes)", unit: "ms", value: "list 10 large",
                            baseline: "list 10 small"),
            BenchmarkFigure("PostgreSQL open thread, \(sizes)", unit: "ms", value: "open large",
                            baseline: "open small"),
        ]
    )
}

if let last = results.last {
    print("\nQuery plans at \(last.messages) messages (auto_explain, log_analyze; one call each):")
    print(try await QueryPlans.explain(last.database, masterKey: masterKey, logger: logger) { threads in
        try last.database.mark("list page 1")
        _ = try await last.list(threads, after: nil)
        try last.database.mark("list page 10")
        _ = try await last.list(threads, after: last.cursor)
        try last.database.mark("open thread")
        _ = try await last.open(threads, last.sample[0])
        try last.database.mark("list page 1, state open (the web inbox filter)")
        _ = try await threads.listInbox(scope: last.scope, state: .open, assignment: nil, order: SizeResult.order,
                                        limit: SizeResult.pageSize + 1, after: nil)
    })
}
