public import Foundation
public import MailValues

/// An RFC 3156 §4 PGP/MIME encrypted mail around an already encrypted, armored payload. The outer Subject is
/// the fixed placeholder `...` (protected-headers draft §4.1); the real one is inside the ciphertext.
///
/// ```swift
/// let mail = PGPMIMEMail(from: ours, to: [client], messageID: id, payload: try ArmoredMessage(cipher))
/// let outgoing = try EncryptedOutgoingMail(mail)
/// ```
public struct PGPMIMEMail: Sendable, CustomStringConvertible {
    /// The outer subject.
    public static let outerSubject = "..."

    public let from: EmailAddress
    public let to: [EmailAddress]
    public let date: Date
    public let messageID: OutgoingMessageID
    public let payload: ArmoredMessage
    public let autocrypt: AutocryptHeader?
    /// The message this one answers (`In-Reply-To` and `References`, RFC 5322 §3.6.4), so clients thread it.
    public let inReplyTo: ReferencedMessageID?
    /// Marks an automatic mail (the receipt) with `Auto-Submitted: auto-replied` (RFC 3834 §5), so that the
    /// client's auto-responders do not answer it.
    public var autoReplied = false

    public init(
        from: EmailAddress, to: [EmailAddress], date: Date = Date(), messageID: OutgoingMessageID,
        payload: ArmoredMessage, autocrypt: AutocryptHeader? = nil, inReplyTo: ReferencedMessageID? = nil
    ) {
        self.inReplyTo = inReplyTo
        self.from = from
        self.to = to
        self.date = date
        self.messageID = messageID
        self.payload = payload
        self.autocrypt = autocrypt
    }

    func render() throws(BuilderError) -> [UInt8] {
        // "=_" cannot occur in radix-64 lines or armor headers we accept, so the boundary never collides
        // (RFC 2046 §5.1.1).
        let boundary = "=_mailbridge_" + UUID().uuidString.lowercased()
        var writer = MailLineWriter()
        writer.field(HeaderEncoder.structured("From", from.unredactedDescription))
        writer.field(HeaderEncoder.structured("To", to.map(\.unredactedDescription).joined(separator: ", ")))
        writer.field(HeaderEncoder.structured("Date", MailDate.format(date)))
        writer.field(HeaderEncoder.structured("Message-ID", messageID.value))
        writer.field(HeaderEncoder.unstructured("Subject", Self.outerSubject))
        if let inReplyTo {
            writer.field(HeaderEncoder.structured("In-Reply-To", inReplyTo.value))
            writer.field(HeaderEncoder.structured("References", inReplyTo.value))
        }
        if autoReplied { writer.field(HeaderEncoder.structured("Auto-Submitted", "auto-replied")) }
        if let autocrypt { writer.field(autocrypt.rendered) }
        writer.field(HeaderEncoder.structured("MIME-Version", "1.0"))
        writer.field(
            HeaderEncoder.structured(
                "Content-Type", "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"\(boundary)\"")
        )
        writer.line("")
        writer.line("This is an OpenPGP/MIME encrypted message (RFC 3156).")
        writer.line("--\(boundary)")
        writer.field(HeaderEncoder.structured("Content-Type", "application/pgp-encrypted"))
        writer.field(HeaderEncoder.structured("Content-Description", "PGP/MIME version identification"))
        writer.line("")
        writer.line("Version: 1")
        writer.line("")
        writer.line("--\(boundary)")
        writer.field(HeaderEncoder.structured("Content-Type", "application/octet-stream; name=\"encrypted.asc\""))
        writer.field(HeaderEncoder.structured("Content-Description", "OpenPGP encrypted message"))
        writer.field(HeaderEncoder.structured("Content-Disposition", "inline; filename=\"encrypted.asc\""))
        writer.line("")
        writer.lines(payload.lines)
        writer.line("")
        writer.line("--\(boundary)--")
        return try writer.finish()
    }

    public var description: String { "PGPMIMEMail(\(to.count) recipients)" }
}
