import Foundation
public import MailValues
import ThreadStore

// Security: the notice is a fixed text. It names no sender, subject, UID, folder or reason, so nothing about the
// message (which nobody could read) reaches plain mail.

extension RedirectTemplate {
    /// The built-in team notice "one message could not be fetched" (issue 28): fixed text, no placeholder.
    public static func fetchFailed(german: Bool) -> RedirectTemplate {
        german
            ? RedirectTemplate(subject: "Eine Nachricht konnte nicht abgeholt werden", body: """
                Eine Nachricht konnte nicht vom Postfach-Server abgeholt werden.

                Sie wurde nicht gelöscht und liegt weiter auf dem Server, in der Regel im
                Ordner für nicht abholbare Nachrichten. Bitte geben Sie der technischen
                Betreuung Bescheid. Diese Benachrichtigung enthält bewusst keine Inhalte und
                keine Absenderangaben.

                """)
            : RedirectTemplate(subject: "One message could not be fetched", body: """
                One message could not be fetched from the mailbox server.

                It was not deleted and stays on the server, usually in the folder for
                messages that could not be fetched. Please tell your technical support. This
                notice deliberately contains no content and no sender details.

                """)
    }
}

extension Pipeline {
    /// Queues the team notice "one message could not be fetched" for the mailbox `address` through the outbox,
    /// like every other notice. Returns false when no mailbox has that address, or when `once` (a content-free
    /// token naming the message, e.g. source hash, UIDVALIDITY and UID) was queued before: the fetcher queues the
    /// notice before it moves the message to the failed folder, so a move retried after a kill sends no second one.
    @discardableResult
    public func queueFetchFailedNotice(for address: EmailAddress, once token: String? = nil) async throws -> Bool {
        guard let mailbox = configuration.mailboxes.first(where: { $0.address.canonical == address.canonical })
        else { return false }
        let time = now()
        let mail = try mailbox.plainMail(.fetchFailed(german: mailbox.german), to: mailbox.teamAddress,
                                         kind: .notification, date: time)
        let item = NewOutboxItem(thread: nil, kind: .notification,
                                 recipient: try ClientAddress(mailbox.teamAddress),
                                 payload: mail.bytes, notBefore: time)
        let queued = try await threads.queueNotice(item, once: token.map { "fetch-failed \($0)" }, now: time,
                                                   period: Self.fetchFailedOncePeriod)
        if queued { outbox.wakeAfterCommit() }
        return queued
    }

    /// How long a set-aside message's notice token is remembered (the rate-limit retention may forget it sooner;
    /// a UID is never reused under one UIDVALIDITY, so forgetting costs nothing but a second notice after a
    /// move that kept failing for that long).
    static let fetchFailedOncePeriod: TimeInterval = 366 * 86_400
}
