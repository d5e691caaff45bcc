// Security: the only source of plain (unencrypted) outgoing mail. Its inputs are a fixed template, the
// platform link and opaque references, all validated types without arbitrary-text initializers, plus the
// envelope addresses. Nothing decrypted or taken from an inbound message's content can reach it.

public import Foundation
public import MailValues

/// A plain mail from a fixed template: redirect replies and counsellor notifications.
///
/// ```swift
/// let mail = TemplateMail(template: .german, link: try PlatformLink("https://beratung.example.org"),
///                         reference: try OpaqueReference("T-4711"), from: ours, to: client,
///                         kind: .redirect, messageID: try OutgoingMessageID(domain: "example.org"))
/// let outgoing = try PlainOutgoingMail(mail)   // CRLF bytes for the SMTP layer (which dot-stuffs)
/// ```
///
/// Redirects are auto-replies: send them with the null reverse-path `MAIL FROM:<>` (RFC 3834 §3.3), which is
/// the SMTP layer's job; no In-Reply-To/References to the inbound message are written.
public struct TemplateMail: Sendable, CustomStringConvertible {
    /// Which auto-generated mail this is (RFC 3834 §5 `Auto-Submitted` value).
    public enum Kind: Sendable, Hashable {
        /// A reply to a received message: `Auto-Submitted: auto-replied`.
        case redirect
        /// A notification not caused by a reply: `Auto-Submitted: auto-generated`.
        case notification
    }

    public let template: RedirectTemplate
    public let link: PlatformLink
    public let reference: OpaqueReference?
    public let from: EmailAddress
    public let to: EmailAddress
    public let kind: Kind
    public let messageID: OutgoingMessageID
    public let date: Date
    /// The mailbox's own key (Autocrypt Level 1 §2.1), so the client's mail program can encrypt next time.
    public let autocrypt: AutocryptHeader?

    public init(
        template: RedirectTemplate, link: PlatformLink, reference: OpaqueReference?, from: EmailAddress,
        to: EmailAddress, kind: Kind, messageID: OutgoingMessageID, date: Date = Date(),
        autocrypt: AutocryptHeader? = nil
    ) {
        self.autocrypt = autocrypt
        self.template = template
        self.link = link
        self.reference = reference
        self.from = from
        self.to = to
        self.kind = kind
        self.messageID = messageID
        self.date = date
    }

    /// The body: template text with `{{link}}` and `{{reference}}` replaced (`-` when there is no reference).
    public var bodyText: String {
        template.body.replacingOccurrences(of: "{{link}}", with: link.value)
            .replacingOccurrences(of: "{{reference}}", with: reference?.value ?? "-")
    }

    /// RFC 5322 message: From, To, Date, Message-ID, fixed Subject, Auto-Submitted (RFC 3834 §5),
    /// MIME-Version, `text/plain; charset=utf-8`, quoted-printable (RFC 2045 §6.7). CRLF, lines ≤ 998.
    func render() throws(BuilderError) -> [UInt8] {
        var writer = MailLineWriter()
        writer.field(HeaderEncoder.structured("From", from.unredactedDescription))
        writer.field(HeaderEncoder.structured("To", to.unredactedDescription))
        writer.field(HeaderEncoder.structured("Date", MailDate.format(date)))
        writer.field(HeaderEncoder.structured("Message-ID", messageID.value))
        writer.field(HeaderEncoder.unstructured("Subject", template.subject))
        writer.field(HeaderEncoder.structured("Auto-Submitted", kind == .redirect ? "auto-replied" : "auto-generated"))
        if let autocrypt { writer.field(autocrypt.rendered) }
        writer.field(HeaderEncoder.structured("MIME-Version", "1.0"))
        writer.field(HeaderEncoder.structured("Content-Type", "text/plain; charset=utf-8"))
        writer.field(HeaderEncoder.structured("Content-Transfer-Encoding", "quoted-printable"))
        writer.line("")
        writer.lines(QuotedPrintableEncoder.lines(bodyText))
        return try writer.finish()
    }

    public var description: String { "TemplateMail(\(kind))" }
}
