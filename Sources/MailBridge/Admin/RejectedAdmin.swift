// Security: lists, re-injects and deletes rejected encrypted messages kept sealed in the store (issue 28). The
// list shows an opaque ID, the reason, times and a size: never an address, a subject or any content. Re-injecting
// opens the sealed message only to write it back into the spool (0700), where the normal pipeline takes it.

public import Foundation
import ThreadStore

/// `mailbridge spool list|reinject|delete --rejected`: encrypted messages the pipeline rejected, kept sealed for
/// `[retention] rejected-days` (default 14) instead of being deleted, so a message can be re-injected after a key
/// was restored or a bug fixed. Beside the spool quarantine (entries that could not be read), which it extends.
public enum RejectedAdmin {
    struct ListedEntry: Encodable {
        var name: String
        var reason: String
        var rejectedAt: Date
        var expiresAt: Date
        var size: Int
    }

    public static func list(_ installation: OpenedInstallation, json: Bool) async throws -> AdminResult {
        let keep = TimeInterval(installation.configuration.retention.rejectedDays) * 86_400
        let entries = try await installation.stores.rejected.listRejected(limit: 1000).map {
            ListedEntry(name: $0.id, reason: AcceptOutcome.RejectionReason(auditCode: $0.reason)?.rawValue
                            ?? "code-\($0.reason)",
                        rejectedAt: $0.rejectedAt, expiresAt: $0.rejectedAt.addingTimeInterval(keep), size: $0.size)
        }
        if json { return AdminResult(output: try AdminSession.json(entries)) }
        let formatter = ISO8601DateFormatter()
        let lines = entries.map {
            "\($0.name)  \($0.reason)  \(formatter.string(from: $0.rejectedAt))  expires "
                + "\(formatter.string(from: $0.expiresAt))  \($0.size) octets"
        }
        return AdminResult(output: lines.isEmpty ? "no rejected messages are kept" : lines.joined(separator: "\n"))
    }

    /// Writes the kept message back into the spool with its own envelope, under a new queue ID; the running
    /// gateway processes it like any new message. The kept copy is deleted once the spool entry is durable.
    public static func reinject(_ installation: OpenedInstallation, name: String) async throws -> AdminResult {
        guard let kept = try await installation.stores.rejected.openRejected(name) else {
            throw AdminUsageError("no rejected message \(name) (see `mailbridge spool list --rejected`)")
        }
        let envelope = try JSONDecoder().decode(EnvelopeRecord.self, from: kept.envelope).envelope()
        let spool = try SpoolIntake(root: installation.dataFolder.appendingPathComponent("spool"))
        let id = try spool.inject(kept.message, envelope: envelope, share: installation.engine.sharesSpool)
        _ = try await installation.stores.rejected.deleteRejected(name, reinjected: true)
        return AdminResult(output: "re-injected \(name) as \(id.rawValue); the running gateway processes it")
    }

    public static func delete(_ installation: OpenedInstallation, name: String) async throws -> AdminResult {
        guard try await installation.stores.rejected.deleteRejected(name, reinjected: false) else {
            throw AdminUsageError("no rejected message \(name) (see `mailbridge spool list --rejected`)")
        }
        return AdminResult(output: "deleted the rejected message \(name)")
    }
}
