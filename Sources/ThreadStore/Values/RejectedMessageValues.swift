public import Foundation

/// A rejected encrypted message to keep sealed (issue 28): the raw message as received and the envelope it came
/// with, both opaque to the store. `description` shows the ID, reason code and size only.
public struct RejectedMessage: Sendable, CustomStringConvertible {
    /// An opaque ID (the spool queue ID the message had); the name `mailbridge spool … --rejected` uses.
    public var id: String
    /// The rejection reason as the pipeline codes it (the audit code of ``AuditEvent/inboundEncryptedRejected``).
    public var reason: Int
    public var rejectedAt: Date
    /// The envelope (reverse path, recipients, arrival) in the spool's own encoding.
    public var envelope: Data
    /// The message exactly as it was spooled.
    public var message: Data

    public init(id: String, reason: Int, rejectedAt: Date, envelope: Data, message: Data) {
        self.id = id
        self.reason = reason
        self.rejectedAt = rejectedAt
        self.envelope = envelope
        self.message = message
    }

    public var description: String { "RejectedMessage(\(id), reason: \(reason), \(message.count) octets)" }
}

/// One kept rejected message as listed: no content, no address.
public struct RejectedEntry: Sendable, Hashable {
    public var id: String
    public var reason: Int
    public var rejectedAt: Date
    /// Size of the raw message in octets.
    public var size: Int

    public init(id: String, reason: Int, rejectedAt: Date, size: Int) {
        self.id = id
        self.reason = reason
        self.rejectedAt = rejectedAt
        self.size = size
    }
}
