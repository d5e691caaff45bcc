public import Foundation
import MailValues
import StorePostgres

/// `mailbridge spool list|reinject|delete`: the spool entries that could not be read and were quarantined
/// (`spool/quarantine/`), and on PostgreSQL how many messages wait in the shared spool and which of its rows are
/// damaged (they do not open; `delete` removes one by its queue ID). Names, causes and counts only; message
/// content is never printed.
public enum SpoolAdmin {
    struct ListedEntry: Encodable {
        var name: String
        var cause: String
        var quarantinedAt: Date
        var hasEnvelope: Bool
        var size: Int
    }

    public static func list(_ installation: OpenedInstallation, json: Bool) async throws -> AdminResult {
        let entries = try spool(installation).quarantined().map {
            ListedEntry(name: $0.name, cause: $0.cause.rawValue, quarantinedAt: $0.quarantinedAt,
                        hasEnvelope: $0.hasEnvelope, size: $0.size)
        }
        if json { return AdminResult(output: try AdminSession.json(entries)) }
        let formatter = ISO8601DateFormatter()
        let lines = entries.map {
            "\($0.name)  \($0.cause)  \(formatter.string(from: $0.quarantinedAt))  \($0.size) octets"
                + ($0.hasEnvelope ? "" : "  (no envelope: reinject with --to)")
        }
        var output = lines.isEmpty ? "the quarantine is empty" : lines.joined(separator: "\n")
        if case .postgresql(let opened) = installation.engine {
            // Several nodes: this node's quarantine above, and what waits in the database for any node.
            let (waiting, damaged) = try await opened.inboundSpool.counts()
            output += "\nshared spool (PostgreSQL): \(waiting) accepted messages waiting on all nodes"
                + (damaged > 0 ? ", \(damaged) of them damaged (they do not open; kept, taken over by no node)" : "")
            for row in try await opened.inboundSpool.damaged() {
                let accepted = Date(timeIntervalSince1970: Double(row.acceptedAtMilliseconds) / 1000)
                output += "\n\(row.queue)  damaged-in-shared-spool  \(formatter.string(from: accepted))  "
                    + "\(row.size) octets  node \(row.node)  (does not open: `spool delete \(row.queue) --yes`)"
            }
        }
        return AdminResult(output: output)
    }

    /// Puts an entry back for processing, with its own envelope, or with `--to` (and `--from`, default the
    /// null sender: no reply) when it has none that reads back.
    public static func reinject(_ installation: OpenedInstallation, name: String, to recipients: [String],
                                from sender: String?) async throws -> AdminResult {
        var envelope: InboundMessage.Envelope?
        if !recipients.isEmpty {
            let parsed: [EmailAddress]
            let reverse: ReversePath
            do {
                parsed = try recipients.map { try EmailAddress($0) }
                reverse = try sender.map { .mailbox(try EmailAddress($0)) } ?? .null
            } catch {
                throw AdminUsageError("--to and --from take e-mail addresses")
            }
            envelope = InboundMessage.Envelope(reversePath: reverse, recipients: parsed, clientAddress: nil,
                                               receivedAt: Date(), queueID: QueueID.make(millisecondsSince1970: 0))
        } else if sender != nil {
            throw AdminUsageError("--from goes with --to")
        }
        do {
            let id = try spool(installation).reinject(name, envelope: envelope, share: installation.engine.sharesSpool)
            return AdminResult(output: "re-injected \(name) as \(id.rawValue); the running gateway processes it")
        } catch let error as SpoolError where error.code == .corruptEnvelope {
            throw AdminUsageError("\(name) has no envelope that reads back: give the recipients with --to")
        } catch let error as SpoolError where error.code == .open || error.code == .foreignFile {
            throw AdminUsageError("no quarantined entry \(name) (see `mailbridge spool list`)")
        }
    }

    /// Deletes a quarantined entry, or on PostgreSQL a damaged row of the shared spool by its queue ID (a row
    /// that still opens is never deleted this way: a node processes it).
    public static func delete(_ installation: OpenedInstallation, name: String) async throws -> AdminResult {
        do {
            try spool(installation).deleteQuarantined(name)
        } catch let error as SpoolError where error.code == .open || error.code == .foreignFile {
            if case .postgresql(let opened) = installation.engine,
               try await opened.inboundSpool.deleteDamaged(name) {
                return AdminResult(output: "deleted the damaged row \(name) from the shared spool")
            }
            throw AdminUsageError("no quarantined entry or damaged shared spool row \(name) "
                                  + "(see `mailbridge spool list`)")
        }
        return AdminResult(output: "deleted \(name) from the quarantine")
    }

    private static func spool(_ installation: OpenedInstallation) throws -> SpoolIntake {
        try SpoolIntake(root: installation.dataFolder.appendingPathComponent("spool"))
    }
}
