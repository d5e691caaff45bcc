// Security: not used by the gateway. Lets Benchmarks/CallgrindBenchmark count the instructions that sealing
// costs per message (issue 24) without SQLite around it. It seals and opens only what the caller passes (the
// benchmark's synthetic text), under a master key the caller made; it reads and writes no store. SPI, so no
// module but the benchmarks sees it.

import Foundation

/// Seals a message's columns exactly as ``WriteTransaction`` does on import, then opens them again.
///
/// ```swift
/// @_spi(Benchmarks) import ThreadStore
/// let keys = SealingBenchmark(masterKey: .generate())
/// let sealedBytes = try keys.sealAndOpen(subject: "Betreff", body: Array(text.utf8))
/// ```
@_spi(Benchmarks) public struct SealingBenchmark: Sendable {
    private let keys: DerivedKeys

    /// Derives the store's keys from `masterKey` (HKDF, as at open).
    public init(masterKey: MasterKey) { keys = DerivedKeys(master: masterKey) }

    /// One inbound message in a new thread: a fresh data key, wrapped for the thread; the Message-ID header,
    /// subject and body sealed under it, each bound to its row; then the key unwrapped and every value opened.
    /// Returns the number of sealed bytes (so the work cannot be optimised away).
    public func sealAndOpen(messageID: String = "<bench@example.net>", subject: String, body: [UInt8])
        throws(ThreadStoreError) -> Int
    {
        let thread = ThreadID.random()
        let message = StoredMessageID.random()
        let dataKey = Sealing.newDataKey()
        let wrapped = try Sealing.wrap(dataKey, for: thread, field: nil, keys: keys)
        func context(_ column: String) -> SealContext {
            MessageRecord.context(column, thread: thread, message: message)
        }
        let sealed = [
            (try Sealing.seal(Data(messageID.utf8), key: dataKey, context: context("header_message_id_sealed")),
             "header_message_id_sealed"),
            (try Sealing.seal(Data(subject.utf8), key: dataKey, context: context("subject_sealed")), "subject_sealed"),
            (try Sealing.seal(body, key: dataKey, context: context("body_sealed")), "body_sealed"),
        ]
        let opened = try Sealing.unwrap(wrapped, for: thread, keys: keys)
        var total = wrapped.count
        for (box, column) in sealed {
            total += box.count
            guard try Sealing.open(box, key: opened, context: context(column)).count + Sealing.overhead == box.count
            else { throw .unsealingFailed }
        }
        return total
    }
}
