// Security: the journal holds random outbox row IDs only (no addresses, no content), in a 0600 file inside the
// data folder.

public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Narrows the window in which a crash makes the gateway send a message twice (issue 18 §4).
///
/// SMTP cannot make delivery exactly-once: between the smarthost's `250` and the outbox update a crash leaves a
/// row that looks undelivered. The store's update is a transaction with an fsync (milliseconds); the journal
/// takes one `write(2)` of the row's ID the moment the `250` is parsed (``SMTPAcceptanceHandler`` calls
/// ``record(_:)`` on the event loop, in the read that brought the `250`), with no fsync. A write that reached the
/// kernel survives `kill -9` of the daemon (the page cache belongs to the kernel), so at the next start
/// ``replay(into:)`` marks those rows delivered before the queue runs.
///
/// What is fsynced when: the journal line never (it only has to survive the process); the store's record right
/// after it, at its commit (`synchronous=FULL`), still before QUIT. A power loss or kernel crash between the
/// `250` and that commit may lose the journal's last lines; those messages are then sent again, as without the
/// journal. Emptying (`ftruncate`) is not fsynced either: after a power loss a replay may mark rows delivered
/// that the store already has as delivered, which changes nothing. The queue empties the journal whenever no
/// delivery is in flight and every result is recorded in the store.
///
/// ```swift
/// let journal = try DeliveryJournal(path: data.appendingPathComponent("outbox-delivered.journal").path)
/// try await journal.replay { ids in try await store.write { … mark each delivered … } }
/// journal.record(row)   // at the smarthost's 250, before anything else
/// ```
public final class DeliveryJournal: Sendable {
    /// The journal's file name inside the data folder.
    public static let fileName = "outbox-delivered.journal"
    /// Longest journal line accepted when replaying (an outbox ID is 32 hex digits).
    static let maximumLineLength = 64

    public let path: String
    private let descriptor: Int32

    /// Opens (or creates, 0600) the journal for appending.
    public init(path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw GatewayError("cannot open the delivery journal \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Appends one delivered row ID: one `write(2)` (appends of one short line are atomic), no fsync. Never
    /// fails: if the write does not happen the store's own record still follows.
    public func record(_ id: String) {
        let line = Array((id + "\n").utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// The row IDs recorded since the journal was last emptied, each once, in order.
    public func recorded() throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var seen: Set<String> = []
        var ids: [String] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where line.count <= Self.maximumLineLength {
            // A torn last line (a crash mid-write) is not an ID and is skipped.
            guard let id = String(bytes: line, encoding: .ascii), seen.insert(id).inserted else { continue }
            ids.append(id)
        }
        return ids
    }

    /// Applies what the journal recorded (`apply` gets every recorded ID and must make each one durable as
    /// delivered), then empties it. If `apply` throws the journal is kept for the next start.
    public func replay(into apply: ([String]) async throws -> Void) async throws {
        let ids = try recorded()
        if !ids.isEmpty { try await apply(ids) }
        empty()
    }

    /// Empties the journal. Call only when no delivery is in flight and every result is in the store.
    public func empty() {
        _ = ftruncate(descriptor, 0)
    }
}
