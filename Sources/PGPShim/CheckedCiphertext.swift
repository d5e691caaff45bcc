// Security: the octets gpg decrypts, after the shape check has read them (CiphertextShape.swift). Whatever reads
// the message after the check (gpg, its second `--unwrap` run, the in-process unwrap) reads it through this value,
// so all of them see the very same octets: the decoded packets in memory, or ranges of a private
// ``CiphertextFile``; never the armor.

/// The input of one decryption as the shape check accepted it: all decoded packets, or the ranges left after key
/// packets for other mailboxes were taken out (``PacketLayout/keptRanges(excludingKeyIDs:)``).
struct CheckedCiphertext {
    private enum Storage {
        case memory([UInt8])
        case file(CiphertextFile, [Range<Int>])
    }

    private let storage: Storage
    /// Octets in all.
    let count: Int

    /// Decoded packets in memory (small messages, inline PGP, callers passing bytes).
    init(memory bytes: [UInt8]) {
        storage = .memory(bytes)
        count = bytes.count
    }

    /// `ranges` of `file`, one after the other.
    init(file: CiphertextFile, ranges: [Range<Int>]) {
        storage = .file(file, ranges)
        count = ranges.reduce(0) { $0 + $1.count }
    }

    /// Runs `body` with a data object gpg reads these octets from: the bytes in place
    /// (``GPGData/withBorrowed(_:_:)``), or the file's ranges through a read callback
    /// (``GPGData/init(reading:of:)``). `body` must not keep the object.
    func withData<Value>(_ body: (GPGData) throws(PGPError) -> Value) throws(PGPError) -> Value {
        switch storage {
        case .memory(let bytes):
            return try GPGData.withBorrowed(bytes, body)
        case .file(let file, let ranges):
            let data = try GPGData(reading: ranges, of: file)
            defer { withExtendedLifetime(data) {} }  // released only after gpg has read it
            return try body(data)
        }
    }

    /// The octets in memory, for the in-process unwrap; nil if there are more than `limit` (that path takes small
    /// messages only, ``InProcessUnwrap/maximumMessageBytes``).
    func bytes(atMost limit: Int) throws(PGPError) -> [UInt8]? {
        guard count <= limit else { return nil }
        switch storage {
        case .memory(let bytes):
            return bytes
        case .file(let file, let ranges):
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count)
            for range in ranges { bytes += try file.read(range) }
            return bytes
        }
    }
}
