import Foundation
import MailValues

/// The on-disk form of ``InboundMessage/Envelope`` (`<queueID>.env`, JSON), next to `<queueID>.eml`.
/// Addresses are stored in clear: the spool folder is private to the daemon (0700), like the message itself.
struct EnvelopeRecord: Codable {
    var version = 1
    var reversePath: String
    var recipients: [String]
    var clientAddress: String?
    var receivedAt: Double
    var queueID: String
    var smtpUTF8: Bool
    var eightBitMIME: Bool

    init(_ envelope: InboundMessage.Envelope) {
        reversePath = envelope.reversePath.unredactedDescription
        recipients = envelope.recipients.map(\.unredactedDescription)
        clientAddress = envelope.clientAddress?.unredactedDescription
        receivedAt = envelope.receivedAt.timeIntervalSince1970
        queueID = envelope.queueID.rawValue
        smtpUTF8 = envelope.smtpUTF8
        eightBitMIME = envelope.eightBitMIME
    }

    func envelope() throws(SpoolError) -> InboundMessage.Envelope {
        guard version == 1, let id = QueueID(queueID) else { throw SpoolError(.corruptEnvelope) }
        do {
            let path: ReversePath = reversePath.isEmpty ? .null : .mailbox(try EmailAddress(reversePath))
            return InboundMessage.Envelope(
                reversePath: path,
                recipients: try recipients.map { try EmailAddress($0) },
                clientAddress: clientAddress.map(PeerAddress.init),
                receivedAt: Date(timeIntervalSince1970: receivedAt),
                queueID: id,
                smtpUTF8: smtpUTF8,
                eightBitMIME: eightBitMIME
            )
        } catch {
            throw SpoolError(.corruptEnvelope)
        }
    }
}

/// Only the version field of an envelope file, to tell an unknown version from a corrupt file.
struct EnvelopeVersion: Decodable {
    var version: Int
}
