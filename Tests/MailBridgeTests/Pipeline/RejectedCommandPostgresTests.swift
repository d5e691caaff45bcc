import Foundation
import Logging
@testable import MailBridge
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: `mailbridge spool list|reinject|delete --rejected` on PostgreSQL. Two rejected messages kept sealed in
/// the database (as the pipeline keeps them, `RejectedMessageKeeper`): the list shows opaque names, the reason and
/// sizes and nothing of the message; `reinject` writes the first back into the spool with its envelope, byte for
/// byte, and removes it from the database; `delete` removes the second; both are audited; the rows in PostgreSQL
/// hold no canary, in the table or a `pg_dump`.
@Suite(.serialized) struct RejectedCommandPostgresTests {
    @Test(.timeLimit(.minutes(3))) func listReinjectAndDeleteOnPostgreSQL() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let temporary = try await TemporaryInstallation(postgreSQL: database, label: "test.rejected")
        defer { Task { await temporary.remove() } }
        let installation = temporary.installation

        let tag = UUID().uuidString.prefix(8).lowercased()
        let sender = "canaryfrom\(tag)@example.net"
        var names: [String] = []
        var messages: [Data] = []
        for index in 0..<2 {
            let queueID = QueueID.make(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000) + UInt64(index))
            let envelope = InboundMessage.Envelope(
                reversePath: .mailbox(try EmailAddress(sender)), recipients: [try EmailAddress("beratung@localhost")],
                clientAddress: nil, receivedAt: Date(), queueID: queueID)
            let message = Data("From: \(sender)\r\nSubject: CANARYSUBJ\(tag)\r\n\r\nCANARYBODY\(tag)-\(index)\r\n".utf8)
            let kept = RejectedMessage(
                id: queueID.rawValue, reason: AcceptOutcome.RejectionReason.notForUs.auditCode, rejectedAt: Date(),
                envelope: try JSONEncoder().encode(EnvelopeRecord(envelope)), message: message)
            #expect(try await installation.stores.inbound.keepRejected(kept))
            #expect(try await installation.stores.inbound.keepRejected(kept) == false)
            names.append(queueID.rawValue)
            messages.append(message)
        }

        let listed = try await RejectedAdmin.list(installation, json: true)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
        #expect(entries.compactMap { $0["name"] as? String } == names)
        #expect(entries.allSatisfy { $0["reason"] as? String == "notForUs" && $0["size"] as? Int != nil })
        #expect(!listed.output.contains(tag))

        // PostgreSQL holds them sealed only.
        let hits = try await offCooperativePool {
            try PostgresCanaryScan.dump(database.name, on: server, for: ["CANARYSUBJ\(tag)", "CANARYBODY\(tag)", sender])
        }
        #expect(hits.isEmpty, "\(hits)")

        let reinjected = try await RejectedAdmin.reinject(installation, name: names[0])
        #expect(reinjected.output.hasPrefix("re-injected \(names[0])"))
        let spool = try SpoolIntake(root: installation.dataFolder.appendingPathComponent("spool"))
        let pending = try spool.pending()
        #expect(pending.count == 1)
        let spooled = try #require(pending.first)
        #expect(try Data(contentsOf: spooled.spoolFile) == messages[0])
        #expect(spooled.envelope.reversePath.address?.canonical == sender)

        await #expect(throws: AdminUsageError.self) { try await RejectedAdmin.delete(installation, name: "nichtda") }
        #expect(try await RejectedAdmin.delete(installation, name: names[1]).output == "deleted the rejected message "
            + names[1])
        #expect(try await RejectedAdmin.list(installation, json: false).output == "no rejected messages are kept")
        let audit = try await installation.stores.audit.latestAuditEntries(AuditFilter(), limit: 100)
        #expect(audit.filter { $0.event == .rejectedMessageReinjected }.map(\.itemID) == [names[0]])
        #expect(audit.filter { $0.event == .rejectedMessageDeleted }.map(\.itemID) == [names[1]])
    }
}
