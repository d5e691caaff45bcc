public import Foundation

extension SpoolIntake {
    /// Writes `message` as a new entry of `incoming` with `envelope` under a new queue ID (the same commit
    /// protocol as ``accept(_:)``): how a kept rejected message goes back through the normal pipeline. Blocking.
    public func inject(_ message: Data, envelope: InboundMessage.Envelope, now: Date = Date()) throws -> QueueID {
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
        return id
    }
}
