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
        /// For a damaged row of the shared spool: when it was accepted.
        var quarantinedAt: Date
        var hasEnvelope: Bool
        var size: Int
        /// For a damaged row of the shared spool: the node that held it.
        var node: String?
    }

    /// The cause a damaged row of the shared spool is listed with.
    static let sharedDamagedCause = "damaged-in-shared-spool"

    public static func list(_ installation: OpenedInstallation, json: Bool) async throws -> AdminResult {
        var entries = try spool(installation).quarantined().map {
            ListedEntry(name: $0.name, cause: $0.cause.rawValue, quarantinedAt: $0.quarantinedAt,
                        hasEnvelope: $0.hasEnvelope, size: $0.size)
        }
        let local = entries.count
        var shared: (waiting: Int, damaged: Int)?
        if case .postgresql(let opened) = installation.engine {
            // Several nodes: this node's quarantine, and what waits in the database for any node. Queue ID and
            // node come from the database: printed as one line each, control characters replaced.
            shared = try await opened.inboundSpool.counts()
            for row in try await opened.inboundSpool.damaged() {
                entries.append(ListedEntry(
                    name: DisplayText.line(row.queue), cause: sharedDamagedCause,
                    quarantinedAt: Date(timeIntervalSince1970: Double(row.acceptedAtMilliseconds) / 1000),
                    hasEnvelope: true, size: Int(row.size), node: DisplayText.line(row.node)))
            }
        }
        if json { return AdminResult(output: try AdminSession.json(entries)) }
        let formatter = ISO8601DateFormatter()
        let lines = entries.prefix(local).map {
            "\($0.name)  \($0.cause)  \(formatter.string(from: $0.quarantinedAt))  \($0.size) octets"
                + ($0.hasEnvelope ? "" : "  (no envelope: reinject with --to)")
        }
        var output = lines.isEmpty ? "the quarantine is empty" : lines.joined(separator: "\n")
        if let shared {
            output += "\nshared spool (PostgreSQL): \(shared.waiting) accepted messages waiting on all nodes"
                + (shared.damaged > 0 ? ", \(shared.damaged) of them damaged (they do not open; kept, taken over by "
                    + "no node)" : "")
            for row in entries.dropFirst(local) {
                output += "\n\(row.name)  \(row.cause)  \(formatter.string(from: row.quarantinedAt))  \(row.size) "
                    + "octets  node \(row.node ?? "")  (does not open: `spool delete --shared \(row.name) --yes`)"
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

    /// Deletes a quarantined entry for good.
    public static func delete(_ installation: OpenedInstallation, name: String) async throws -> AdminResult {
        do {
            try spool(installation).deleteQuarantined(name)
        } catch let error as SpoolError where error.code == .open || error.code == .foreignFile {
            throw AdminUsageError("no quarantined entry \(name) (see `mailbridge spool list`)")
        }
        return AdminResult(output: "deleted \(name) from the quarantine")
    }

    /// Deletes a damaged row of the shared spool by its queue ID (PostgreSQL; `spool delete --shared`). A row that
    /// still opens is never deleted this way: a node processes it.
    public static func deleteShared(_ installation: OpenedInstallation, queue: String) async throws -> AdminResult {
        guard case .postgresql(let opened) = installation.engine else {
            throw AdminUsageError("--shared is for an installation on PostgreSQL (its shared spool)")
        }
        guard try await opened.inboundSpool.deleteDamaged(queue) else {
            throw AdminUsageError("no damaged row \(DisplayText.line(queue)) in the shared spool (see `mailbridge spool "
                                  + "list`; a row that opens is processed by a node, not deleted)")
        }
        return AdminResult(output: "deleted the damaged row \(DisplayText.line(queue)) from the shared spool")
    }

    private static func spool(_ installation: OpenedInstallation) throws -> SpoolIntake {
        try SpoolIntake(root: installation.dataFolder.appendingPathComponent("spool"))
    }
}
