// Security: builds the digest mail from counts per counselling field and a window's times. Its inputs are
// integers, field names (configuration) and the inbox list link: no thread ID, name, address, subject or text.

public import Foundation
import MailValues
public import ThreadStore

/// One digest: for one address and one window, the number of new messages per counselling field.
///
/// ```swift
/// let digest = NoticeDigest(window: start..<end, mode: .hourly, counts: ["suchtberatung": 3])
/// let mail = try digest.mail(from: mailbox, to: team, inbox: inboxLink, german: true)
/// ```
public struct NoticeDigest: Sendable, Hashable, CustomStringConvertible {
    public var window: Range<Date>
    public var mode: NoticeMode
    /// New messages per field (field name → count).
    public var counts: [CounsellingField: Int]

    public init(window: Range<Date>, mode: NoticeMode, counts: [CounsellingField: Int]) {
        self.window = window
        self.mode = mode
        self.counts = counts
    }

    /// All messages counted.
    public var total: Int { counts.values.reduce(0, +) }

    /// The fixed digest text: the window (UTC), one line per field with its count, the inbox list link.
    public func template(german: Bool, withLink: Bool) -> RedirectTemplate {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = mode == .daily ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm"
        let from = formatter.string(from: window.lowerBound)
        let until = mode == .daily ? "" : "–" + formatter.string(from: window.upperBound).suffix(5)
        let lines = counts.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "  \($0.key.rawValue): \($0.value)" }.joined(separator: "\n")
        let body: String
        let subject: String
        if german {
            subject = mode == .daily ? "Tagesübersicht der Online-Beratung" : "Stundenübersicht der Online-Beratung"
            body = """
                Neue verschlüsselte Nachrichten (\(from)\(until) UTC), nach Beratungsbereich:

                \(lines)

                \(withLink ? "Bitte lesen und beantworten Sie sie im geschützten Posteingang:\n{{link}}\n\n" : "")\
                Diese Übersicht enthält bewusst nur Anzahlen: keine Inhalte und keine Absenderangaben.

                """
        } else {
            subject = mode == .daily ? "Daily summary of online counselling" : "Hourly summary of online counselling"
            body = """
                New encrypted messages (\(from)\(until) UTC), by counselling field:

                \(lines)

                \(withLink ? "Please read and answer them in the protected inbox:\n{{link}}\n\n" : "")\
                This summary deliberately contains only counts: no content and no sender details.

                """
        }
        return RedirectTemplate(subject: subject, body: body)
    }

    /// The digest as a plain notification mail from `mailbox` to `recipient`, in `german` (default: the
    /// mailbox's language; a counsellor's digest uses the account's).
    public func mail(from mailbox: PipelineMailbox, to recipient: EmailAddress, inbox: InboxLink?,
                     date: Date, german: Bool? = nil) throws -> PlainOutgoingMail {
        try mailbox.plainMail(template(german: german ?? mailbox.german, withLink: inbox != nil), to: recipient,
                              kind: .notification, date: date, link: inbox?.list)
    }

    public var description: String { "NoticeDigest(\(mode), fields: \(counts.count), total: \(total))" }
}
