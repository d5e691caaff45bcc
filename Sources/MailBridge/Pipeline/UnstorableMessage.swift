// Security: an encrypted message that the store refuses for a permanent reason (issue 25: a field over a limit
// that ``StoreFit`` cannot shorten, or a value the store rejects) is refused like any other rejected encrypted
// mail: its ciphertext is kept sealed (``Pipeline/keepRejected(_:_:)``), never its decrypted text, and it leaves the
// spool, so it is neither retried for ever nor left there with its outer headers in clear. The team of its mailbox
// gets a fixed notice that names no sender, subject, size or field: at most one per mailbox per hour. The sender
// hears nothing. Log lines carry the queue ID and field names only.

import Foundation
import Logging
import MailValues
import NIOPosix
import ThreadStore

extension RedirectTemplate {
    /// The built-in team notice "an encrypted message could not be stored" (issue 25): fixed text, no placeholder.
    public static func unstorable(german: Bool) -> RedirectTemplate {
        german
            ? RedirectTemplate(subject: "Eine verschlüsselte Nachricht konnte nicht gespeichert werden", body: """
                Mindestens eine verschlüsselte Nachricht konnte nicht in einen Verlauf
                übernommen werden, weil sie eine Grenze des Speichers überschreitet (etwa
                sehr viele oder sehr große Anhänge).

                Sie ist nicht verloren: Die verschlüsselte Fassung wird verschlüsselt
                aufbewahrt (`mailbridge spool list --rejected`). Bitte geben Sie der
                technischen Betreuung Bescheid. Diese Benachrichtigung enthält bewusst keine
                Inhalte und keine Absenderangaben.

                """)
            : RedirectTemplate(subject: "An encrypted message could not be stored", body: """
                At least one encrypted message could not be added to a thread because it
                exceeds a limit of the store (such as very many or very large attachments).

                It is not lost: its encrypted form is kept sealed (`mailbridge spool list
                --rejected`). Please tell your technical support. This notice deliberately
                contains no content and no sender details.

                """)
    }
}

extension Pipeline {
    /// At most one "could not be stored" notice per mailbox per this many seconds.
    static let unstorableNoticePeriod: TimeInterval = 3600

    /// `message` within the store's limits (``StoreFit``); logs the names of the fields it had to cut.
    func fitToStore(_ message: NewMessage, _ queue: QueueID) throws(StoreFit.Unstorable) -> NewMessage {
        let (fitted, changed) = try StoreFit(threads.limits).fit(message)
        if !changed.isEmpty {
            logger.notice("message fields cut to fit the store",
                          metadata: ["queue": "\(queue)",
                                     "fields": "\(changed.map(\.rawValue).sorted().joined(separator: ","))"])
        }
        return fitted
    }

    /// Whether `error` means the message can never be stored as it is: retrying cannot help.
    static func isUnstorable(_ error: any Error) -> Bool {
        if error is StoreFit.Unstorable { return true }
        guard let error = error as? ThreadStoreError else { return false }
        return [.limitExceeded, .invalidValue, .invalidIdentifier].contains(error.code)
    }

    /// ``process(_:)``, with an encrypted message that cannot be stored refused as
    /// ``AcceptOutcome/RejectionReason/unstorable`` instead of failing every attempt.
    func processRefusingUnstorable(_ message: InboundMessage) async throws -> AcceptOutcome {
        do {
            return try await process(message)
        } catch let error where Self.isUnstorable(error) {
            guard let mailbox = try await encryptedMailbox(message) else { throw error }
            logger.error("encrypted message cannot be stored; refused, kept sealed, team notified",
                         metadata: ["queue": "\(message.queueID)", "error": "\(error)"])
            try await noticeUnstorable(mailbox)
            return .rejectedEncrypted(.unstorable)
        }
    }

    /// Records the refusal and queues the team notice (rate-limited), in one transaction.
    private func noticeUnstorable(_ mailbox: PipelineMailbox) async throws {
        let time = now()
        let mail = try mailbox.plainMail(.unstorable(german: mailbox.german), to: mailbox.teamAddress,
                                         kind: .notification, date: time)
        let item = NewOutboxItem(thread: nil, kind: .notification,
                                 recipient: try ClientAddress(mailbox.teamAddress),
                                 payload: mail.bytes, notBefore: time)
        // The per-key "at most once per period" table of redirects, under a key no address can have.
        let key = threads.senderHMAC(canonicalAddress: "unstorable-notice " + mailbox.address.canonical)
        let recording = InboundRecord(.inboundEncryptedRejected,
                                      reason: AcceptOutcome.RejectionReason.unstorable.storedCode)
        if try await threads.queueLimitedNotice(item, key: key, now: time, period: Self.unstorableNoticePeriod,
                                                recording: recording)
        {
            outbox.wakeAfterCommit()
        }
    }

    /// The mailbox of `message` if it is encrypted mail (PGP/MIME or inline PGP) to one; nil for anything else.
    private func encryptedMailbox(_ message: InboundMessage) async throws -> PipelineMailbox? {
        let limits = configuration.mimeLimits
        let mailboxes = configuration.mailboxes
        guard message.size <= limits.maximumMessageBytes,
            let mailbox = message.envelope.recipients.lazy.compactMap({ recipient in
                mailboxes.first { $0.address.canonical == recipient.canonical }
            }).first
        else { return nil }
        let path = message.spoolFile.path
        let bytes = try await NIOThreadPool.singleton.runIfActive {
            try POSIXFile.readAll(path, limit: limits.maximumMessageBytes)
        }
        guard let parsed = try? MIMEParser(limits: limits).parse(bytes) else { return nil }
        switch MessageClassifier.classify(parsed) {
        case .pgpMIME, .inlinePGP: return mailbox
        case .plain, .quarantine: return nil
        }
    }
}
