// Security: the seal of the shared inbound spool on PostgreSQL (issue 21). An accepted message, plain mail
// included, is written to the database before the `250`, so the database must only ever see it sealed: the
// envelope and each piece of the message under a key of its own derived from the master key, each bound to its
// queue ID and the piece to its index and to whether it is the last one, so pieces cannot be swapped between
// messages, reordered, dropped or cut off unnoticed. Nothing here is logged.

public import Foundation

/// Which sealed value of a spooled message: its envelope, or one piece of the message.
public enum SpoolSealPart: Sendable, Hashable {
    case envelope
    /// Piece `index` (from 0); `last` for the final piece of the message.
    case piece(index: Int, last: Bool)

    func context(queue: String) -> SealContext {
        switch self {
        case .envelope:
            SealContext(table: "inbound_spool", column: "envelope_sealed", threadID: "", rowID: queue)
        case .piece(let index, let last):
            SealContext(table: "inbound_spool_piece", column: last ? "sealed_last" : "sealed", threadID: "",
                        rowID: queue, position: index)
        }
    }
}

extension StoreSecrets {
    /// Seals `part` of the spooled message `queue` (its queue ID).
    public func sealSpooled(_ plaintext: some DataProtocol, queue: String, part: SpoolSealPart)
        throws(ThreadStoreError) -> Data
    {
        guard !queue.isEmpty else { throw .invalidValue }
        return try Sealing.seal(plaintext, key: keys.inboundSpool, context: part.context(queue: queue))
    }

    /// Opens `part` of the spooled message `queue`.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when it was altered, moved to another message or another
    ///   place in it, or sealed under another master key.
    public func openSpooled(_ sealed: Data, queue: String, part: SpoolSealPart) throws(ThreadStoreError) -> Data {
        try Sealing.open(sealed, key: keys.inboundSpool, context: part.context(queue: queue))
    }
}

extension StoreResealing {
    /// A spooled message's envelope or one of its pieces, resealed under the new master key.
    public func spooled(_ sealed: Data, queue: String, part: SpoolSealPart) throws(ThreadStoreError) -> Data {
        try Self.reseal(sealed, from: old.inboundSpool, to: new.inboundSpool, context: part.context(queue: queue))
    }
}
