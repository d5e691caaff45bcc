// Security: the mail of a crypto-shredded organisation (issue 29) that never reached a thread: messages waiting in
// this node's spool (for instance while the organisation's key was missing) and kept rejected messages. Both are
// whole client messages; they are deleted, not read (only their envelopes are, to find the recipient mailbox).
// Output and errors name counts only.

import Foundation
import MailValues
import StorePostgres
import ThreadStore

extension OrganisationShredding {
    /// Whether the mailbox the pipeline would take for `recipients` (the first configured one among them) is one
    /// of `mailboxes` (canonical addresses).
    static func belongs(_ recipients: [EmailAddress], configured: Set<String>, mailboxes: Set<String>) -> Bool {
        guard let first = recipients.first(where: { configured.contains($0.canonical) }) else { return false }
        return mailboxes.contains(first.canonical)
    }

    /// Deletes this node's spooled messages and the kept rejected messages for `mailboxes`; returns how many of
    /// each. On PostgreSQL a spooled message's row in the shared spool is released with it.
    static func purgeMail(_ installation: OpenedInstallation, mailboxes: Set<String>) async throws
        -> (spooled: Int, rejected: Int)
    {
        guard !mailboxes.isEmpty else { return (0, 0) }
        let configured = Set(installation.configuration.mailboxes.map(\.address.canonical))
        let spool = try SpoolIntake(root: installation.dataFolder.appendingPathComponent("spool"))
        var spooled = 0
        for message in try spool.pending()
        where belongs(message.envelope.recipients, configured: configured, mailboxes: mailboxes) {
            try spool.remove(message)
            if case .postgresql(let opened) = installation.engine {
                _ = try await opened.inboundSpool.release(message.queueID.rawValue)
            }
            spooled += 1
        }
        var rejected = 0
        for entry in try await installation.stores.rejected.listRejected(limit: 1_000_000) {
            guard let kept = try await installation.stores.rejected.openRejected(entry.id) else { continue }
            // An envelope that does not read back names no mailbox: left for `spool list --rejected`.
            guard let envelope = try? JSONDecoder().decode(EnvelopeRecord.self, from: kept.envelope).envelope(),
                belongs(envelope.recipients, configured: configured, mailboxes: mailboxes)
            else { continue }
            if try await installation.stores.rejected.deleteRejected(entry.id, reinjected: false) { rejected += 1 }
        }
        return (spooled, rejected)
    }
}
