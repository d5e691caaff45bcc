// Child process for ThreadStoreTests' crash-safety test. It imports messages (5 per transaction, each with an
// outbox row) in a bounded loop and prints "committed <last index>" after each commit returns; the test kills it with
// SIGKILL mid-loop, reopens the store and checks integrity, durability of every reported commit and atomicity.
//
// Usage: ThreadStoreCrashHelper <database path> <master key file> [iterations] [first index]
//        ThreadStoreCrashHelper --memory-burst <folder>   (StoreMemoryReleaseTests; see MemoryBurst.swift)
//        ThreadStoreCrashHelper --import-peak <folder> <body MiB> <attachment MiB>   (LargeImportMemoryTests)

import Foundation
import ThreadStore

let arguments = CommandLine.arguments
if arguments.count == 3, arguments[1] == "--memory-burst" {
    await MemoryBurst.run(folder: arguments[2])
}
if arguments.count == 5, arguments[1] == "--import-peak" {
    await ImportPeak.run(folder: arguments[2], bodyMiB: Int(arguments[3]) ?? 1, attachmentMiB: Int(arguments[4]) ?? 0)
}
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: ThreadStoreCrashHelper <db> <key> [iterations]\n".utf8))
    exit(64)
}
let iterations = arguments.count > 3 ? Int(arguments[3]) ?? 100_000 : 100_000
let firstIndex = arguments.count > 4 ? Int(arguments[4]) ?? 0 : 0

do {
    let store = try ThreadStore(
        at: URL(filePath: arguments[1]),
        masterKey: try MasterKey(contentsOf: URL(filePath: arguments[2]))
    )
    let identity = ClientIdentity(
        field: try CounsellingField("crash"),
        key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
        address: try ClientAddress("client@example.org")
    )
    let body = [UInt8](repeating: UInt8(ascii: "x"), count: 6000)  // spans overflow pages
    // Each transaction imports `batch` messages, each with its outbox row, so a kill usually lands inside one.
    let batch = 5
    for first in stride(from: firstIndex, to: firstIndex + iterations, by: batch) {
        let messages = (first..<(first + batch)).map { index in
            NewMessage(
                direction: .inbound,
                messageID: "<crash-\(index)@example.org>",
                subject: "Subject \(index)",
                body: body,
                verdict: .valid,
                receivedAt: Date(),
                replayFingerprints: [store.replayFingerprint(.content, Data("ciphertext \(index)".utf8))]
            )
        }
        let allStored = try await store.write { tx in
            var allStored = true
            for (offset, message) in messages.enumerated() {
                let outcome = try tx.importMessage(message, into: .client(identity))
                guard case .stored(let thread, _, _) = outcome else {
                    allStored = false
                    continue
                }
                try tx.enqueueOutbox(
                    NewOutboxItem(
                        thread: thread,
                        kind: .notification,
                        recipient: try ClientAddress("team@example.org"),
                        payload: Array("notification \(first + offset)".utf8),
                        notBefore: Date()
                    )
                )
            }
            return allStored
        }
        guard allStored else {
            FileHandle.standardError.write(Data("unexpected outcome in batch at \(first)\n".utf8))
            exit(1)
        }
        FileHandle.standardOutput.write(Data("committed \(first + batch - 1)\n".utf8))  // unbuffered write(2)
    }
} catch {
    FileHandle.standardError.write(Data("crash helper failed: \(error)\n".utf8))
    exit(1)
}
