import Foundation
import Logging
@testable import MailBridge
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: `mailbridge spool list|reinject|delete` on PostgreSQL, for what the shared spool adds. A quarantined
/// entry and a kept rejected message put back by the administrator are marked for the running gateway, which
/// records them in the shared spool in its next round (so another node processes them should this node be lost);
/// damaged rows of the shared spool are listed by queue ID, node and size and can be deleted, rows that still open
/// cannot.
@Suite(.serialized) struct SpoolCommandPostgresTests {
    @Test(.timeLimit(.minutes(3))) func putBackEntriesAreSharedAndDamagedRowsCanBeDeleted() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let logger = Logger(label: "test.spool-command")
        let temporary = try await TemporaryInstallation(postgreSQL: database, label: "test.spool-command")
        defer { Task { await temporary.remove() } }
        let installation = temporary.installation
        guard case .postgresql(let postgres) = installation.engine else { throw RotationTestFailure("not PostgreSQL") }
        let spoolRoot = installation.dataFolder.appendingPathComponent("spool")
        let canary = "SPOOLCMD-\(UUID().uuidString.prefix(8))"

        // A quarantined entry without envelope, put back with --to: marked for the shared spool, not yet in it.
        let local = try SpoolIntake(root: spoolRoot)
        try Data("Subject: x\r\n\r\n\(canary)\r\n".utf8).write(to: local.quarantineFolder.appending(path: "orphan.eml"))
        let output = try await SpoolAdmin.reinject(installation, name: "orphan", to: ["beratung@localhost"], from: nil)
        let word = output.output.split(separator: " ").dropFirst(3).first.map(String.init) ?? ""
        let id = try #require(QueueID(word.trimmingCharacters(in: .punctuationCharacters)), "\(output.output)")
        #expect(local.unsharedMarks.ids() == [id])
        #expect(try await postgres.inboundSpool.counts() == (waiting: 0, damaged: 0))

        // The running gateway's intake (with the mirror) records it and clears the mark.
        let shared = try SpoolIntake(root: spoolRoot, mirror: installation.engine.spoolMirror(logger: logger))
        #expect(try await shared.shareUnshared() == (recorded: 1, failed: 0))
        #expect(local.unsharedMarks.ids().isEmpty)
        #expect(try await postgres.inboundSpool.held().map(\.queue) == [id.rawValue])

        // Without `share` (an installation on SQLite) nothing is marked.
        try Data("plain".utf8).write(to: local.quarantineFolder.appending(path: "second.eml"))
        _ = try local.reinject("second", envelope: try SpoolIntakeTests.envelope(.make(millisecondsSince1970: 0)))
        #expect(local.unsharedMarks.ids().isEmpty)

        // A waiting row is not deleted by `spool delete --shared`; once damaged it is listed and can be.
        await #expect(throws: AdminUsageError.self) {
            try await SpoolAdmin.deleteShared(installation, queue: id.rawValue)
        }
        #expect(try await postgres.inboundSpool.counts() == (waiting: 1, damaged: 0))
        try await postgres.inboundSpool.markDamaged(id.rawValue)
        let listed = try await SpoolAdmin.list(installation, json: false).output
        #expect(listed.contains("1 accepted messages waiting on all nodes, 1 of them damaged"), "\(listed)")
        #expect(listed.contains("\(id.rawValue)  damaged-in-shared-spool  "), "\(listed)")
        #expect(listed.contains("node node-a  (does not open: `spool delete --shared \(id.rawValue) --yes`)"),
                "\(listed)")
        #expect(!listed.contains(canary))
        let json = try await SpoolAdmin.list(installation, json: true).output
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(entries.count == 1 && entries[0]["name"] as? String == id.rawValue
            && entries[0]["cause"] as? String == "damaged-in-shared-spool" && entries[0]["node"] as? String == "node-a",
            "\(json)")
        // Not a quarantined entry: plain `spool delete` does not reach the shared spool.
        await #expect(throws: AdminUsageError.self) { try await SpoolAdmin.delete(installation, name: id.rawValue) }
        let deleted = try await SpoolAdmin.deleteShared(installation, queue: id.rawValue)
        #expect(deleted.output == "deleted the damaged row \(id.rawValue) from the shared spool")
        #expect(try await postgres.inboundSpool.counts() == (waiting: 0, damaged: 0))
        await #expect(throws: AdminUsageError.self) {
            try await SpoolAdmin.deleteShared(installation, queue: id.rawValue)
        }
        // A node name or queue ID with control characters (written by a database writer) is printed as one line.
        _ = try server.psql("""
            UPDATE inbound_spool SET node = E'evil\\x1b[2Jnode\\nforged', removed_at = NULL
            WHERE queue_id = '\(id.rawValue)'
            """, database: database.name)
        let escaped = try await SpoolAdmin.list(installation, json: false).output
        #expect(!escaped.contains("\u{1B}") && escaped.contains("evil\u{FFFD}[2Jnode\u{FFFD}forged"), "\(escaped)")
    }
}
