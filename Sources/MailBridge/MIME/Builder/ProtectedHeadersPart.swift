public import Foundation
public import MailValues

/// The inner, to-be-encrypted MIME part of a PGP/MIME mail with protected headers
/// (draft-autocrypt-lamps-protected-headers §2: the real Subject and other headers inside the encrypted part,
/// marked `protected-headers="v1"`). The rendered bytes go to PGPShim for encryption only; there is no way to
/// turn them into a ``PlainOutgoingMail``.
///
/// ```swift
/// let inner = try ProtectedHeadersPart(subject: "Antwort", from: ours, to: [client], date: .now,
///                                      messageID: id, body: text).render()
/// // encrypt `inner` with PGPShim, then: PGPMIMEMail(… payload: try ArmoredMessage(ciphertext) …)
/// ```
public struct ProtectedHeadersPart: Sendable, CustomStringConvertible {
    public let subject: String
    public let from: EmailAddress
    public let to: [EmailAddress]
    public let date: Date
    public let messageID: OutgoingMessageID
    public let body: String
    /// The message this one answers, repeated inside (protected-headers draft §2).
    public let inReplyTo: ReferencedMessageID?

    public init(
        subject: String, from: EmailAddress, to: [EmailAddress], date: Date, messageID: OutgoingMessageID, body: String,
        inReplyTo: ReferencedMessageID? = nil
    ) {
        self.inReplyTo = inReplyTo
        self.subject = subject
        self.from = from
        self.to = to
        self.date = date
        self.messageID = messageID
        self.body = body
    }

    /// The MIME entity (headers + QP body), CRLF, lines ≤ 998.
    public func render() throws(BuilderError) -> [UInt8] {
        var writer = MailLineWriter()
        writer.field(HeaderEncoder.structured("Content-Type", "text/plain; charset=utf-8; protected-headers=\"v1\""))
        writer.field(HeaderEncoder.structured("Content-Transfer-Encoding", "quoted-printable"))
        writer.field(HeaderEncoder.unstructured("Subject", subject))
        writer.field(HeaderEncoder.structured("From", from.unredactedDescription))
        writer.field(HeaderEncoder.structured("To", to.map(\.unredactedDescription).joined(separator: ", ")))
        writer.field(HeaderEncoder.structured("Date", MailDate.format(date)))
        writer.field(HeaderEncoder.structured("Message-ID", messageID.value))
        if let inReplyTo {
            writer.field(HeaderEncoder.structured("In-Reply-To", inReplyTo.value))
            writer.field(HeaderEncoder.structured("References", inReplyTo.value))
        }
        writer.line("")
        writer.lines(QuotedPrintableEncoder.lines(body))
        return try writer.finish()
    }

    public var description: String { "ProtectedHeadersPart(\(body.utf8.count) bytes body)" }
}
