// Security: reads untrusted header fields and the envelope sender to decide whether our redirect may be sent.
// Fail-safe: any sign of automation, lists or loops suppresses the reply. Rate limiting per sender is a
// separate step in the store, after this decision.

public import MailValues

/// RFC 3834 decision for the redirect reply. Pure.
///
/// ```swift
/// let decision = AutoReplyPolicy.decide(envelopeSender: sender, headers: message.headers, ownAddresses: ours)
/// if case .send = decision { … enqueue TemplateMail … }
/// ```
public enum AutoReplyPolicy {
    /// - Parameters:
    ///   - envelopeSender: the SMTP `MAIL FROM` path; nil for the null reverse-path `<>`.
    ///   - headers: the message header fields.
    ///   - ownAddresses: addresses MailBridge sends from (compared canonically).
    public static func decide(
        envelopeSender: EmailAddress?, headers: MIMEHeaders, ownAddresses: [EmailAddress]
    ) -> AutoReplyDecision {
        guard let sender = envelopeSender else { return .suppress(.nullSender) }
        if isSystemSender(sender) { return .suppress(.systemSender) }
        let own = Set(ownAddresses.map(\.canonical))
        if own.contains(sender.canonical) { return .suppress(.ownAddress) }
        if let from = try? SenderIdentity(headers: headers), own.contains(from.address.canonical) {
            return .suppress(.ownAddress)
        }
        for field in headers.all("Auto-Submitted") where firstToken(field.value) != "no" {
            return .suppress(.autoSubmitted)
        }
        for field in headers.all("Precedence") where ["bulk", "list", "junk"].contains(firstToken(field.value)) {
            return .suppress(.precedence)
        }
        if headers.contains(where: { $0.lowercasedName.hasPrefix("list-") }) { return .suppress(.listHeader) }
        for field in headers.all("X-Auto-Response-Suppress") {
            let values = field.value.lowercased().split(whereSeparator: { $0 == "," || $0 == " " || $0 == ";" })
            if values.contains(where: { ["all", "oof", "autoreply"].contains($0) }) {
                return .suppress(.autoResponseSuppressed)
            }
        }
        if headers.first("X-Autoreply") != nil || headers.first("X-Autorespond") != nil
            || headers.first("X-Autoresponder") != nil
        {
            return .suppress(.autoReplyHeader)
        }
        if let type = headers.first("Content-Type"), firstToken(type.value).hasPrefix("multipart/report") {
            return .suppress(.deliveryReport)
        }
        return .send
    }

    /// RFC 3834 §2 role senders, plus common no-reply local parts.
    private static func isSystemSender(_ address: EmailAddress) -> Bool {
        let local = address.localPart.lowercased()
        let exact: Set<String> = [
            "mailer-daemon", "postmaster", "mailer", "listserv", "majordomo", "noreply", "no-reply", "donotreply",
            "do-not-reply", "bounce", "bounces",
        ]
        return exact.contains(local) || local.hasPrefix("owner-") || local.hasSuffix("-request")
            || local.hasSuffix("-owner") || local.hasSuffix("-bounces") || local.hasPrefix("bounce-")
    }

    /// The value up to `;`, `(` or whitespace, lower-cased
    /// (RFC 3834 §5: `auto-submitted = … [ CFWS ] *( ";" … )`).
    private static func firstToken(_ value: String) -> String {
        let token = value.prefix { $0 != ";" && $0 != "(" && $0 != " " && $0 != "\t" }
        return token.lowercased()
    }
}
