// Security: the only way a mailbox builds plain mail. Everything in it is operator text (the template), the
// mailbox's own address, link and key, and at most an opaque reference: no type here can carry client content.

public import Foundation
public import MailValues

extension PipelineMailbox {
    /// A fixed-text plain mail from this mailbox to `recipient`: `template` rendered with `link` (the mailbox's
    /// platform link unless given) and `reference`, a fresh Message-ID in the mailbox's domain, and the mailbox's
    /// Autocrypt header. Redirects, reply-waiting and key-request notices, and counsellor notices and digests all
    /// come from here.
    public func plainMail(_ template: RedirectTemplate, to recipient: EmailAddress, kind: TemplateMail.Kind,
                          date: Date, link: PlatformLink? = nil, reference: OpaqueReference? = nil) throws
        -> PlainOutgoingMail
    {
        try PlainOutgoingMail(TemplateMail(
            template: template, link: link ?? self.link, reference: reference, from: address, to: recipient,
            kind: kind, messageID: try OutgoingMessageID(domain: address.domain), date: date, autocrypt: autocrypt))
    }
}
