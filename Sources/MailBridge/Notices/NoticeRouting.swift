// Security: decides who hears about a new thread message and builds the notice. A notice is a `TemplateMail`:
// fixed text, the counselling field, and a link holding only the opaque thread ID. The recipient is a team
// address (configuration) or a counsellor's own notification address (sealed in the store); neither is ever
// logged. Nothing from the client's message reaches this file: it gets a thread ID and a field.

public import Foundation
import MailValues
public import ThreadStore

/// Routes and builds the counsellor notices for a new message in a thread (issue 17):
/// - a thread assigned to an account with a notification address: that address only;
/// - a new thread, an unassigned thread, or one whose assignee has no usable address (none set, disabled):
///   the field's team address;
/// - each recipient either gets one notice per message (``NoticeMode/eachMessage``) or is counted for its hourly
///   or daily digest (``NoticeDigestService``), in the same transaction as the message.
///
/// ```swift
/// let notice = NoticeFactory(mailbox: mailbox, time: now, inbox: configuration.notices.inboxLink)
/// try await store.write { tx in
///     if case .stored(let thread, _, _) = try tx.importMessage(message, into: destination) {
///         try notice.route(newMessageIn: thread, in: tx)
///     }
/// }
/// ```
public struct NoticeFactory: Sendable {
    public let mailbox: PipelineMailbox
    public let time: Date
    /// The inbox base URL; without it notices carry the opaque thread ID as a reference and no link.
    public var inbox: InboxLink?
    /// Where each-message notices are queued.
    public let outbox: Outbox

    public init(mailbox: PipelineMailbox, time: Date, inbox: InboxLink? = nil, outbox: Outbox) {
        self.mailbox = mailbox
        self.time = time
        self.inbox = inbox
        self.outbox = outbox
    }

    /// Where the notice about a new message goes.
    public enum Route: Hashable, Sendable, CustomStringConvertible {
        case team(NoticeMode)
        case account(AccountID, NoticeMode)

        public var mode: NoticeMode {
            switch self {
            case .team(let mode), .account(_, let mode): mode
            }
        }

        public var description: String {
            switch self {
            case .team(let mode): "team(\(mode))"
            case .account(_, let mode): "account(\(mode))"
            }
        }
    }

    /// Notifies about a new message in `thread` as the type documentation says: queues a notice or counts it for
    /// a digest, inside the caller's transaction (so the notice commits with the message or not at all).
    @discardableResult
    public func route(newMessageIn thread: ThreadID, in tx: WriteTransaction) throws -> Route {
        let action = try tx.route(plan, newMessageIn: thread)
        if case .queue = action { outbox.wakeAfterCommit(of: tx) }
        return Self.route(of: action)
    }

    /// The routing rule as a value an engine runs inside its import's transaction (``InboundStore``): the
    /// assignee's address if it has a usable one, else the field's team address; a notice or a digest count.
    public var plan: NoticePlan {
        NoticePlan(field: mailbox.field, time: time) { [self] thread, assignee in
            if let assignee, let stored = assignee.settings.address,
                let address = try? EmailAddress(stored.unredactedDescription)
            {
                return try action(thread, to: address, recipient: .account(assignee.account),
                                  mode: assignee.settings.mode)
            }
            return try action(thread, to: mailbox.teamAddress, recipient: .team(mailbox.field),
                              mode: mailbox.teamNoticeMode)
        }
    }

    /// The route an engine's notice action took.
    public static func route(of action: NoticeAction) -> Route {
        switch action {
        case .queue(_, .account(let account)): .account(account, .eachMessage)
        case .queue(_, .team): .team(.eachMessage)
        case .count(.account(let account), let mode): .account(account, mode)
        case .count(.team, let mode): .team(mode)
        }
    }

    /// The each-message notice about `thread` to the field's team address (for callers that notify the team of a
    /// new thread directly; ``route(newMessageIn:in:)`` also honours assignment and digests).
    public func item(for thread: ThreadID) throws -> NewOutboxItem {
        try item(for: thread, to: mailbox.teamAddress)
    }

    /// The each-message notice about `thread` to `recipient`: fixed text, field, and the thread's inbox link (or
    /// its opaque ID when no inbox URL is configured).
    public func item(for thread: ThreadID, to recipient: EmailAddress) throws -> NewOutboxItem {
        var template = mailbox.notificationTemplate
        var link = mailbox.link
        if let inbox {
            // The notice text names the thread as `{{reference}}`; with an inbox it becomes the thread's link.
            template = RedirectTemplate(subject: template.subject,
                                        body: template.body.replacingOccurrences(of: "{{reference}}", with: "{{link}}"))
            link = try inbox.thread(thread)
        }
        let mail = try mailbox.plainMail(template, to: recipient, kind: .notification, date: time, link: link,
                                         reference: try OpaqueReference(thread.unredactedDescription))
        return NewOutboxItem(thread: nil, kind: .notification,
                             recipient: try ClientAddress(recipient),
                             payload: mail.bytes, notBefore: time)
    }

    private func action(_ thread: ThreadID, to address: EmailAddress, recipient: NoticeRecipient,
                        mode: NoticeMode) throws -> NoticeAction {
        mode == .eachMessage ? .queue(try item(for: thread, to: address), recipient) : .count(recipient, mode)
    }
}
