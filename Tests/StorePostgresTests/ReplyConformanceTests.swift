import Foundation
import MailValues
import TestSupport
import Testing
import ThreadStore

@testable import StorePostgres

/// Counsellor replies (``ReplyStore``) on SQLite (``ThreadStoreReplies``) and on PostgreSQL (``PostgresThreads``,
/// also under the gateway's role), with the same outcomes and audit rows (issue 21). Client mail is imported on
/// node B; replies are committed and released on node A.
@Suite struct ReplyConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start

    func reply(_ thread: ThreadID, text: String = "Antwort", to address: String = "client1@example.org",
               kind: OutboxKind = .counsellorReply, actor: AccountID?, keyUnusable: Int? = nil,
               assign: Bool = true) -> ReplyCommit {
        ReplyCommit(
            message: NewMessage(direction: .outbound, messageID: "<\(UUID().uuidString)@example.org>",
                                subject: "Re: Betreff", body: Array("inner part: \(text)".utf8),
                                verdict: .notApplicable, receivedAt: t0.addingTimeInterval(30)),
            item: NewOutboxItem(thread: thread, kind: kind, recipient: try! ClientAddress(address),
                                payload: Array("encrypted \(text)".utf8), notBefore: t0.addingTimeInterval(30)),
            thread: thread, actor: actor, channel: actor == nil ? nil : .browser, keyUnusable: keyUnusable,
            assignToActor: assign)
    }

    func replies(_ engine: InboxEngineUnderTest, node: Int = 0) -> any ReplyStore {
        if let sqlite = engine.inbound.keepAlive as? SQLiteImport { return ThreadStoreReplies(sqlite.threads.store) }
        return (engine.inbound.keepAlive as! PostgresImportNodes).threads[node]
    }

    @Test(arguments: engines)
    func aReplyIsStoredQueuedAuditedAndAssignsTheThread(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let replies = replies(engine)
        let outcome = try await engine.importer.importMessage(
            ImportEngines.message("m1", subject: "Frage", body: "Hallo"), into: .client(ImportEngines.identity(1)))
        let thread = try #require(outcome.storedThread)
        let anna = try await engine.webState.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: nil)

        let basis = try await replies.replyBasis(thread)
        #expect(basis.clientKey == ImportEngines.identity(1).key && basis.clientAddress == ImportEngines.identity(1).address)
        #expect(basis.lastInbound?.messageID == "<m1@example.org>" && basis.lastInbound?.subject == "Frage", "\(name)")
        #expect(basis.summary.id == thread && basis.summary.messageCount == 1, "\(name)")
        let start = try await engine.accessAudit().count

        let (_, stored) = try await replies.commitReply(reply(thread, actor: anna))
        let content = try await engine.importer.threadContent(thread)
        #expect(content.messages.map(\.direction) == [.inbound, .outbound] && content.messages[1].id == stored)
        #expect(content.messages[1].body == Array("inner part: Antwort".utf8) && content.queuedOutboxItems == 1)
        #expect(content.state == .awaitingClient, "\(name)")
        let entry = try #require(try await engine.inboxes[1].inboxThread(thread, scope: .everyField))
        #expect(entry.assignedTo == anna && entry.state == .awaitingClient, "\(name)")
        let view = try await engine.inboxes[1].openThread(
            thread, page: MessagePageRequest(), by: InboxActor(account: anna, channel: .browser, scope: .everyField),
            event: .threadViewed)
        #expect(view.messages.last?.delivery == ReplyDelivery(author: anna, state: .queued), "\(name)")
        // The basis now names the same inbound message: a reply is not inbound.
        #expect(try await replies.replyBasis(thread).lastInbound?.messageID == "<m1@example.org>")

        // A second reply by the command line (no actor): no replyQueued row, no new assignment.
        _ = try await replies.commitReply(reply(thread, text: "Zweite", actor: nil))
        let (state, queued, assigned, stored2, outboxQueued) = (
            AuditEvent.threadStateChanged.rawValue, AuditEvent.replyQueued.rawValue,
            AuditEvent.threadAssigned.rawValue, AuditEvent.messageStored.rawValue, AuditEvent.outboxQueued.rawValue)
        let audit = Array(try await engine.accessAudit().dropFirst(start))
        #expect(audit == [
            "\(stored2)/-/I/-/-", "\(outboxQueued)/\(OutboxKind.counsellorReply.rawValue)/I/-/-",
            "\(state)/\(ThreadState.awaitingClient.rawValue)/-/A/1", "\(queued)/-/I/A/1", "\(assigned)/-/I/A/1",
            "\(AuditEvent.threadViewed.rawValue)/2/I/A/1",
            "\(stored2)/-/I/-/-", "\(outboxQueued)/\(OutboxKind.counsellorReply.rawValue)/I/-/-",
            "\(state)/\(ThreadState.awaitingClient.rawValue)/-/-/-",
        ], "\(name)")
        #expect(try await engine.importer.threadContent(thread).queuedOutboxItems == 2)

        // A missing thread: nothing stored, nothing audited.
        let missing = try ThreadID(String(repeating: "0", count: 32))
        let before = try await engine.accessAudit()
        await #expect(throws: ThreadStoreError.threadNotFound) { try await replies.replyBasis(missing) }
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await replies.commitReply(reply(missing, actor: anna))
        }
        #expect(try await engine.accessAudit() == before, "\(name)")
    }

    @Test(arguments: engines)
    func aHeldReplyIsReleasedOnceAndFoundFromTheNewerThread(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let replies = replies(engine)
        let old = try await engine.importer.importMessage(ImportEngines.message("m1"),
                                                          into: .client(ImportEngines.identity(1)))
        let thread = try #require(old.storedThread)
        let anna = try await engine.webState.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: nil)

        // The key was expired: the notice is queued, the reply held.
        let notice = reply(thread, text: "Wartehinweis", kind: .notification, actor: anna,
                           keyUnusable: HeldReplyProblem.expired.rawValue)
        let (_, held) = try await replies.commitReply(notice)
        let heldReplies = try await replies.heldReplies(in: thread)
        #expect(heldReplies.map(\.message) == [held] && heldReplies[0].problem == .expired, "\(name)")
        #expect(heldReplies[0].messageID == notice.message.messageID && heldReplies[0].body == notice.message.body)
        let actor = InboxActor(account: anna, channel: .browser, scope: .everyField)
        let view = try await engine.inbox.openThread(thread, page: MessagePageRequest(), by: actor,
                                                     event: .threadViewed)
        #expect(view.heldReplies == [held] && view.messages.last?.delivery?.state == .held, "\(name)")

        // A newer thread of the same address with another key finds the held reply's thread.
        let newKey = ClientIdentity(field: ImportEngines.field, key: ImportEngines.identity(7).key,
                                    address: ImportEngines.identity(1).address)
        let newer = try #require(try await engine.importer.importMessage(
            ImportEngines.message("m2", at: t0.addingTimeInterval(60)), into: .client(newKey)).storedThread)
        #expect(try await replies.heldReplyThreads(sameClientAs: newer) == [thread], "\(name)")
        #expect(try await replies.heldReplyThreads(sameClientAs: thread).isEmpty, "\(name)")

        // Released on node B and A at once: exactly one item is queued.
        let release = [(message: held, item: NewOutboxItem(thread: thread, kind: .counsellorReply,
                                                           recipient: ImportEngines.identity(1).address,
                                                           payload: Array("encrypted now".utf8), notBefore: t0))]
        let nodeB = self.replies(engine, node: 1)
        async let first = replies.releaseHeldReplies(release)
        async let second = nodeB.releaseHeldReplies(release)
        #expect(try await first + second == 1, "\(name)")
        #expect(try await replies.heldReplies(in: thread).isEmpty, "\(name)")
        #expect(try await engine.importer.threadContent(thread).queuedOutboxItems == 2, "\(name)")
        let after = try await engine.inbox.openThread(thread, page: MessagePageRequest(), by: actor,
                                                      event: .threadViewed)
        #expect(after.heldReplies.isEmpty && after.messages.last?.delivery?.state == .queued, "\(name)")
        let audit = try await engine.accessAudit()
        #expect(audit.filter { $0.hasPrefix("\(AuditEvent.replyHeld.rawValue)/") }
            == ["\(AuditEvent.replyHeld.rawValue)/\(HeldReplyProblem.expired.rawValue)/I/-/-"], "\(name)")
        #expect(audit.filter { $0.hasPrefix("\(AuditEvent.replyKeyUnusable.rawValue)/") }
            == ["\(AuditEvent.replyKeyUnusable.rawValue)/\(HeldReplyProblem.expired.rawValue)/-/-/-"], "\(name)")
        #expect(audit.filter { $0.hasPrefix("\(AuditEvent.heldReplyReleased.rawValue)/") }
            == ["\(AuditEvent.heldReplyReleased.rawValue)/-/I/-/-"], "\(name)")
    }
}

/// What the counsellor side writes on PostgreSQL stays sealed (issue 21's canary scans): a reply's text (queued and
/// held), its outbox item and a counsellor's notification address are found neither in any row, nor in any file
/// of the server's data folder after a checkpoint (heap, indexes, WAL), nor in a `pg_dump`.
@Suite struct CounsellorSideCanaryTests {
    @Test func repliesAndNotificationAddressesLeaveNoCanaryInTheDatabase() async throws {
        let engine = try await InboxEngineUnderTest.engine("postgresql")
        let nodes = engine.inbound.keepAlive as! PostgresImportNodes
        let replies: any ReplyStore = nodes.threads[0]
        let canary = "CANARY-REPLY-\(UUID().uuidString)"
        let heldCanary = "CANARY-HELD-\(UUID().uuidString)"
        let addressCanary = "canary-\(UUID().uuidString.prefix(8).lowercased())@example.net"
        let thread = try #require(try await engine.importer.importMessage(
            ImportEngines.message("m1"), into: .client(ImportEngines.identity(1))).storedThread)
        let anna = try await engine.webState.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: nil)
        try await engine.inbox.setNotificationSettings(
            NotificationSettings(address: try ClientAddress(addressCanary), mode: .hourly), of: anna, actor: anna,
            via: .browser)
        for (text, held) in [(canary, false), (heldCanary, true)] {
            _ = try await replies.commitReply(ReplyCommit(
                message: NewMessage(direction: .outbound, messageID: "<\(UUID().uuidString)@example.org>",
                                    subject: "Re: \(text)", body: Array("text: \(text)".utf8),
                                    verdict: .notApplicable, receivedAt: ImportEngines.start),
                item: NewOutboxItem(thread: thread, kind: held ? .notification : .counsellorReply,
                                    recipient: ImportEngines.identity(1).address,
                                    payload: Array("mail: \(text)".utf8), notBefore: ImportEngines.start),
                thread: thread, actor: anna, channel: .browser,
                keyUnusable: held ? HeldReplyProblem.missing.rawValue : nil, assignToActor: true))
        }
        // The counsellor opens the thread: the texts come back.
        let view = try await engine.inbox.openThread(
            thread, page: MessagePageRequest(), by: InboxActor(account: anna, channel: .browser, scope: .everyField),
            event: .threadViewed)
        // (All three were stored at the store clock's one instant, so their order is by ID.)
        #expect(Set(view.messages.filter { $0.direction == .outbound }.map { String(decoding: $0.body, as: UTF8.self) })
            == ["text: \(canary)", "text: \(heldCanary)"])
        let canaries = [canary, heldCanary, addressCanary]
        let rows = try nodes.dumpAllTables()
        #expect(rows.contains("\\x"))
        for needle in canaries {
            #expect(!rows.contains(needle))
            #expect(!rows.lowercased().contains(Data(needle.utf8).map { String(format: "%02x", $0) }.joined()))
        }
        let server = nodes.database.server
        try await offCooperativePool { try server.psql("CHECKPOINT") }
        let hits = try await offCooperativePool { try PostgresCanaryScan.folder(server.dataDirectory, for: canaries) }
        #expect(hits.isEmpty, "\(hits)")
        let dump = try await offCooperativePool { try server.dump(nodes.database.name) }
        #expect(PostgresCanaryScan.scan(dump, file: "pg_dump", for: canaries).isEmpty)
    }
}
