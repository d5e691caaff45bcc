import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// Deleting a thread (``InboxStore/deleteThread(_:by:)``) crypto-shreds it on SQLite and on PostgreSQL (also under
/// the gateway's role), as `ShreddingTests` (ThreadStoreTests) asserts for SQLite (issue 21): the same tables hold
/// the thread's rows before, none of them afterwards (its data key's row included), its messages no longer open,
/// and another thread is left whole.
@Suite struct ThreadDeletionConformanceTests {
    static let engines = SeamEngineUnderTest.engines
    let t0 = ImportEngines.start
    let lead = InboxActor(account: .makeRandom(), channel: .browser, scope: .everyField)

    @Test(arguments: engines)
    func aDeletedThreadLeavesNoRowAndItsKeyGoes(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let attachment = NewAttachment(name: "brief.pdf", mediaType: "application/pdf", content: [1, 2, 3])
        var messages: [StoredMessageID] = []
        var thread: ThreadID?
        for (index, message) in [ImportEngines.message("d1", attachments: [attachment]),
                                 ImportEngines.message("d2", at: t0.addingTimeInterval(60))].enumerated() {
            let outcome = try await engine.importer.importMessage(
                message, into: .client(ImportEngines.identity(1)),
                queueing: index == 0 ? [ImportEngines.outboxItem()] : [])
            guard case .stored(let stored, let id, _) = outcome else { throw TestFailure("\(name): \(outcome)") }
            (thread, messages) = (stored, messages + [id])
        }
        let victim = try #require(thread)
        // A held reply and a queued one: rows in `held_reply` and `reply_delivery` too.
        for held in [true, false] {
            let (_, reply) = try await engine.replies.commitReply(ReplyCommit(
                message: NewMessage(direction: .outbound, messageID: "<\(UUID().uuidString)@example.org>",
                                    subject: "Re", body: [0x41], verdict: .notApplicable, receivedAt: t0),
                item: NewOutboxItem(thread: victim, kind: held ? .notification : .counsellorReply,
                                    recipient: ImportEngines.identity(1).address, payload: [0x42], notBefore: t0),
                thread: victim, actor: lead.account, channel: .browser,
                keyUnusable: held ? HeldReplyProblem.missing.rawValue : nil, assignToActor: false))
            messages.append(reply)
        }
        let keeper = try #require(try await engine.importer.importMessage(
            ImportEngines.message("k1", attachments: [attachment]),
            into: .client(ImportEngines.identity(2))).storedThread)

        let before = try await engine.rowsOfThread(victim, messages)
        #expect(Set(before.filter { $0.value > 0 }.keys) == [
            "thread", "thread_key", "message", "attachment", "outbox", "held_reply", "reply_delivery",
        ], "\(name): \(before)")
        #expect(before["thread_key"] == 1 && before["message"] == 4 && before["attachment"] == 1
            && before["outbox"] == 3 && before["held_reply"] == 1 && before["reply_delivery"] == 2,
            "\(name): \(before)")

        try await engine.inbox.deleteThread(victim, by: lead)
        let after = try await engine.rowsOfThread(victim, messages)
        #expect(after.keys == before.keys && after.values.allSatisfy { $0 == 0 }, "\(name): \(after)")
        await #expect(throws: ThreadStoreError.threadNotFound, "\(name)") {
            try await engine.importer.threadContent(victim)
        }
        await #expect(throws: ThreadStoreError.threadNotFound, "\(name)") {
            try await engine.inbox.attachment(thread: victim, message: messages[0], position: 0, by: lead)
        }
        await #expect(throws: ThreadStoreError.threadNotFound, "\(name): deleted twice") {
            try await engine.inbox.deleteThread(victim, by: lead)
        }

        let kept = try await engine.importer.threadContent(keeper)
        #expect(kept.messages.count == 1 && kept.messages[0].attachments.count == 1, "\(name)")
        #expect(try await engine.rowsOfThread(keeper, [])["thread_key"] == 1, "\(name)")
        let deleted = try await engine.audit.latestAuditEntries(AuditFilter(thread: victim), limit: 100)
        #expect(deleted.last?.event == .threadDeleted && deleted.last?.actor == lead.account, "\(name)")
    }
}
