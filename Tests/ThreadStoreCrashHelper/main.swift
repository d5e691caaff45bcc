// Child process for ThreadStoreTests' crash-safety test. It imports messages (each with an outbox row, in one
// transaction) in a bounded loop and prints "committed <n>" after each commit returns; the test kills it with
// SIGKILL mid-loop, reopens the store and checks integrity, durability of every reported commit and atomicity.
//
// Usage: ThreadStoreCrashHelper <database path> <master key file> [iterations] [first index]

import Foundation
import ThreadStore

let arguments = CommandLine.arguments
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
    for index in firstIndex..<(firstIndex + iterations) {
        let message = NewMessage(
            direction: .inbound,
            messageID: "<crash-\(index)@example.org>",
            subject: "Subject \(index)",
            body: body,
            verdict: .valid,
            receivedAt: Date(),
            ciphertextHash: PayloadHash.sha256(of: Data("ciphertext \(index)".utf8))
        )
        let outcome = try await store.write { tx in
            let outcome = try tx.importMessage(message, into: .client(identity))
            if case .stored(let thread, _, _) = outcome {
                try tx.enqueueOutbox(
                    NewOutboxItem(
                        thread: thread,
                        kind: .notification,
                        recipient: try ClientAddress("team@example.org"),
                        payload: Array("notification \(index)".utf8),
                        notBefore: Date()
                    )
                )
            }
            return outcome
        }
        guard case .stored = outcome else {
            FileHandle.standardError.write(Data("unexpected outcome at \(index)\n".utf8))
            exit(1)
        }
        FileHandle.standardOutput.write(Data("committed \(index)\n".utf8))  // unbuffered write(2)
    }
} catch {
    FileHandle.standardError.write(Data("crash helper failed: \(error)\n".utf8))
    exit(1)
}
