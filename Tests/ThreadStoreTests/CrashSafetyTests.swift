import Foundation
import GRDB
import Testing
@testable import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// Runs `ThreadStoreCrashHelper` (built next to the test binary), kills it with SIGKILL while it writes, then
/// reopens the store and checks integrity, durability of every reported commit and atomicity of each import with
/// its outbox row. Three cycles on the same database.
@Suite struct CrashSafetyTests {
    static func helperURL() throws -> URL {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var directory = URL(filePath: exe).deletingLastPathComponent()
        // On Linux the test binary is `<bin>/MailBridgePackageTests.xctest`; tolerate a bundle layout too.
        for _ in 0..<4 {
            let candidate = directory.appending(path: "ThreadStoreCrashHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw ThreadStoreError.databaseUnavailable
    }

    /// Runs one of the helper's measuring modes (`--memory-burst`, `--import-peak`) in a new folder to the end;
    /// returns the fields of its report line (the line starting with `prefix`, without it).
    static func measure(_ arguments: [String], report prefix: String) throws -> [Substring] {
        let folder = "/tmp/mb-helper-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let process = Process()
        process.executableURL = try helperURL()
        process.arguments = [arguments[0], folder] + arguments.dropFirst()
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let line = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix(prefix + " ") })
        return Array(line.split(separator: " ").dropFirst())
    }

    /// Starts the helper, waits for `commits` reported commits, kills it; returns the last reported index.
    static func runAndKill(helper: URL, fixture: StoreFixture, start: Int, commits: Int) async throws -> Int {
        let process = Process()
        process.executableURL = helper
        process.arguments = [fixture.databaseURL.path, fixture.keyURL.path, "100000", String(start)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let last = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            DispatchQueue.global().async {
                var buffer = Data()
                var last = -1
                var seen = 0
                let deadline = Date().addingTimeInterval(120)
                while seen < commits, Date() < deadline {
                    let chunk = pipe.fileHandleForReading.availableData
                    if chunk.isEmpty { break }  // helper exited
                    buffer.append(chunk)
                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                        buffer.removeSubrange(buffer.startIndex...newline)
                        if line.hasPrefix("committed "), let index = Int(line.dropFirst(10)) {
                            last = index
                            seen += 1
                        }
                    }
                }
                // Kill mid-write: the helper is in its loop, between or inside transactions.
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                continuation.resume(returning: seen >= commits ? last : -1)
            }
        }
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)
        return last
    }

    @Test(.timeLimit(.minutes(5)))
    func killedWriterLeavesAConsistentStore() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let helper = try Self.helperURL()
        var start = 0
        for cycle in 0..<3 {
            let last = try await Self.runAndKill(helper: helper, fixture: fixture, start: start, commits: 15)
            try #require(last >= start + 15 * 5 - 1, "helper did not report commits in cycle \(cycle)")

            let store = try fixture.open()
            #expect(try await store.integrityCheck())
            let identity = ClientIdentity(
                field: try CounsellingField("crash"),
                key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
                address: try ClientAddress("client@example.org")
            )
            let thread = try #require(try await store.read { tx in try tx.findThread(client: identity) })
            let opened = try await store.read { tx in try tx.openThread(thread) }
            let ids = opened.messages.map(\.messageID)
            // Every reported commit survived; no duplicates; no gaps (imports are sequential).
            #expect(ids.count >= last + 1)
            #expect(Set(ids).count == ids.count)
            #expect(Set(ids) == Set((0..<ids.count).map { "<crash-\($0)@example.org>" }))
            // Transactions of 5 imports are all-or-nothing: never a partial batch.
            #expect(ids.count % 5 == 0)
            // Each import committed together with its outbox row and its replay hash.
            let (outbox, hashes) = try await store.pool.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox")!,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM seen_ciphertext")!
                )
            }
            #expect(outbox == ids.count)
            #expect(hashes == ids.count)
            // Importing a committed message again is a duplicate.
            let again = NewMessage(
                direction: .inbound,
                messageID: "<crash-0@example.org>",
                subject: "Subject 0",
                body: [UInt8](repeating: UInt8(ascii: "x"), count: 6000),
                verdict: .valid,
                receivedAt: Date(),
                replayFingerprints: [store.replayFingerprint(.content, Data("ciphertext 0".utf8))]
            )
            let outcome = try await store.write { tx in try tx.importMessage(again, into: .client(identity)) }
            guard case .duplicate = outcome else {
                Issue.record("re-import after crash was not a duplicate: \(outcome)")
                return
            }
            start = ids.count
        }
    }
}
