public import Foundation

extension SpoolIntake {
    /// Writes `message` as a new entry of `incoming` with `envelope` under a new queue ID (the same commit
    /// protocol as ``accept(_:)``): how a kept rejected message goes back through the normal pipeline. With
    /// `share` (an installation on PostgreSQL) the entry is marked unshared, so that the running gateway records it
    /// in the shared spool in its next round, as a message accepted while the database was away. Blocking.
    public func inject(_ message: Data, envelope: InboundMessage.Envelope, now: Date = Date(),
                       share: Bool = false) throws -> QueueID {
        let id = QueueID.make(millisecondsSince1970: UInt64(now.timeIntervalSince1970 * 1000))
        var envelope = envelope
        envelope.queueID = id
        let file = temporaryFolder.appending(path: "\(id.rawValue).eml").path
        try POSIXFile.writeDurably(message, temporary: file + ".part", final: file)
        do {
            try commit(envelope: try JSONEncoder().encode(EnvelopeRecord(envelope)), id: id, message: file)
        } catch {
            try? POSIXFile.remove(file)
            throw error
        }
        if share { markUnshared(id) }
        return id
    }

    /// Marks an entry an administrator put back (``inject(_:envelope:now:share:)``, ``reinject(_:envelope:now:share:)``)
    /// for the running gateway to record in the shared spool. After the commit: a mark without its entry would be
    /// dropped by ``shareUnshared()`` before the entry arrives. Should the mark fail, the entry is still processed
    /// by this node, only not taken over should this node be lost before (as before the shared spool); the command
    /// does not fail for it, as running it again would put the message back twice.
    func markUnshared(_ id: QueueID) {
        try? unsharedMarks.mark(id)
    }
}
