public import Foundation
public import MailValues

/// A message accepted from the network and written to the spool: the only currency between the inbound
/// listeners (SMTP, IMAP) and the pipeline (STYLE.md §11). `description` is redacted.
public struct InboundMessage: Hashable, Sendable, CustomStringConvertible {
    /// The SMTP envelope and reception facts (RFC 5321 §2.3.1).
    public struct Envelope: Hashable, Sendable {
        /// MAIL FROM; `.null` for bounces (RFC 5321 §4.5.5).
        public var reversePath: ReversePath
        /// Accepted RCPT TO addresses: only configured counselling addresses.
        public var recipients: [EmailAddress]
        /// The client's IP address (redacted in descriptions); nil when not known.
        public var clientAddress: PeerAddress?
        public var receivedAt: Date
        public var queueID: QueueID
        /// The client asked for SMTPUTF8 (RFC 6531) / BODY=8BITMIME (RFC 6152).
        public var smtpUTF8: Bool
        public var eightBitMIME: Bool

        public init(
            reversePath: ReversePath,
            recipients: [EmailAddress],
            clientAddress: PeerAddress?,
            receivedAt: Date,
            queueID: QueueID,
            smtpUTF8: Bool = false,
            eightBitMIME: Bool = false
        ) {
            self.reversePath = reversePath
            self.recipients = recipients
            self.clientAddress = clientAddress
            self.receivedAt = receivedAt
            self.queueID = queueID
            self.smtpUTF8 = smtpUTF8
            self.eightBitMIME = eightBitMIME
        }
    }

    public var envelope: Envelope
    /// The message file exactly as received (after dot-unstuffing), CRLF line ends.
    public var spoolFile: URL
    /// Size of the message file in octets.
    public var size: Int

    public init(envelope: Envelope, spoolFile: URL, size: Int) {
        self.envelope = envelope
        self.spoolFile = spoolFile
        self.size = size
    }

    public var queueID: QueueID { envelope.queueID }

    public var description: String {
        "InboundMessage(\(envelope.queueID), \(size) octets, \(envelope.recipients.count) recipients)"
    }
}
