import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The counsellor inbox (``InboxStore``) on SQLite (``ThreadStoreInbox``) and on PostgreSQL (``PostgresThreads``,
/// also under the gateway's role), with the same outcomes, errors and audit rows (issue 21). On PostgreSQL the
/// messages are imported by node B and read on node A, so "the inbox of a counsellor logged in on node A shows what
/// node B imported" holds at the store's level.
@Suite struct InboxConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start
    static let otherField = try! CounsellingField("schulden")
    static let counsellor = AccountID.makeRandom()

    /// An actor of the first field only (a counsellor), or of every field (a team lead).
    func actor(everyField: Bool = false) -> InboxActor {
        InboxActor(account: Self.counsellor, channel: .browser,
                   scope: everyField ? .everyField : InboxScope(fields: [ImportEngines.field]))
    }

    /// Client 1: three messages (the second with an attachment, the third signed) in field `beratung`; client 2:
    /// one message in field `schulden`. Imported on node B.
    func fill(_ engine: InboxEngineUnderTest) async throws -> (ThreadID, ThreadID, [StoredMessageID]) {
        let client = ImportEngines.identity(1)
        let signer = MessageSigner(fingerprint: client.key, userID: "Klientin <client1@example.org>")
        var ids: [StoredMessageID] = []
        var thread: ThreadID?
        for (index, message) in [
            ImportEngines.message("m1", subject: "Erste", body: "Eins\r\n"),
            ImportEngines.message("m2", subject: "Zweite", body: "Zwei", at: t0.addingTimeInterval(60),
                                  attachments: [NewAttachment(name: "brief.pdf", mediaType: "application/pdf",
                                                              content: [0, 1, 2, 255])]),
            ImportEngines.message("m3", subject: "Dritte", body: "Drei", at: t0.addingTimeInterval(120),
                                  signer: signer, verdict: .valid),
        ].enumerated() {
            let outcome = try await engine.importer.importMessage(message, into: .client(client))
            guard case .stored(let stored, let id, let created) = outcome, created == (index == 0) else {
                throw TestFailure("import \(index): \(outcome)")
            }
            thread = stored
            ids.append(id)
        }
        let other = ClientIdentity(field: Self.otherField, key: ImportEngines.identity(2).key,
                                   address: ImportEngines.identity(2).address)
        let second = try await engine.importer.importMessage(
            ImportEngines.message("o1", at: t0.addingTimeInterval(180)), into: .client(other))
        guard let otherThread = second.storedThread else { throw TestFailure("\(second)") }
        return (thread!, otherThread, ids)
    }

    @Test(arguments: engines)
    func nodeAListsAndOpensWhatNodeBImportedPageByPage(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let (thread, otherThread, ids) = try await fill(engine)
        let inbox = engine.inbox

        // Lists: a team lead sees both fields (most recent activity first), a counsellor only their own.
        let all = try await inbox.listInbox(scope: .everyField, state: nil)
        #expect(all.map(\.id) == [otherThread, thread], "\(name)")
        let mine = try await inbox.listInbox(scope: actor().scope, state: .new)
        #expect(mine.map(\.id) == [thread], "\(name)")
        let entry = try #require(mine.first)
        #expect(entry.state == .new && entry.summary.messageCount == 3 && entry.summary.unreadCount == 3)
        #expect(entry.summary.field == ImportEngines.field && entry.assignedTo == nil && entry.firstViewedAt == nil)
        #expect(entry.waitingSince == t0, "\(name)")
        #expect(try await inbox.inboxThread(otherThread, scope: actor().scope) == nil, "\(name)")
        #expect(try await inbox.inboxThread(thread, scope: actor().scope) == entry, "\(name)")
        let second = try await inbox.listInbox(scope: .everyField, state: nil, assignment: nil, order: .lastActivity,
                                               limit: 1, after: InboxCursor(after: all[0]))
        #expect(second.map(\.id) == [thread], "\(name)")

        // The newest page of two, then the page before it.
        let view = try await inbox.openThread(thread, page: MessagePageRequest(limit: 2), by: actor(),
                                              event: .threadViewed)
        #expect(view.messages.map(\.id) == [ids[1], ids[2]], "\(name)")
        #expect(view.clientKey == ImportEngines.identity(1).key && view.clientAddress == ImportEngines.identity(1).address)
        #expect(view.messages.map(\.subject) == ["Zweite", "Dritte"] && view.messages[0].body == Array("Zwei".utf8))
        #expect(view.messages[0].attachments.map(\.name) == ["brief.pdf"], "\(name)")
        #expect(view.messages[0].attachments.map(\.size) == [4] && view.messages[0].attachments[0].mediaType
            == "application/pdf")
        #expect(view.messages[1].signer == MessageSigner(fingerprint: ImportEngines.identity(1).key,
                                                          userID: "Klientin <client1@example.org>"))
        #expect(view.messages[1].verdict == .valid && view.messages.allSatisfy { !$0.wasRead })
        #expect(view.page.earlierCount == 1 && view.page.earlierUnreadCount == 1 && view.page.laterCount == 0)
        #expect(view.page.laterCursor == nil && view.keyChange == nil && view.heldReplies.isEmpty)
        let cursor = try #require(view.page.earlierCursor)
        let earlier = try await inbox.openThread(thread, page: MessagePageRequest(.before(cursor), limit: 2),
                                                 by: actor(), event: .threadExported)
        #expect(earlier.messages.map(\.id) == [ids[0]] && earlier.messages[0].body == Array("Eins\r\n".utf8))
        #expect(earlier.page.earlierCount == 0 && earlier.page.laterCount == 2 && earlier.page.laterUnreadCount == 0)
        let later = try await inbox.openThread(thread, page: MessagePageRequest(.after(earlier.page.laterCursor!),
                                                                               limit: 5),
                                               by: actor(), event: .threadViewed)
        #expect(later.messages.map(\.id) == [ids[1], ids[2]] && later.messages.allSatisfy(\.wasRead), "\(name)")

        // Read on node B too: no longer new, nothing unread.
        let read = try #require(try await engine.inboxes[1].inboxThread(thread, scope: .everyField))
        #expect(read.state == .open && read.summary.unreadCount == 0 && read.firstViewedAt == t0, "\(name)")
        #expect(try await inbox.listInbox(scope: .everyField, state: .new).map(\.id) == [otherThread])

        // Outside the scope, a missing thread, a bad page or event: nothing decrypted, nothing audited.
        let before = try await engine.accessAudit()
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await inbox.openThread(otherThread, page: MessagePageRequest(), by: actor(), event: .threadViewed)
        }
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await inbox.openThread(try ThreadID(String(repeating: "0", count: 32)), page: MessagePageRequest(),
                                       by: actor(everyField: true), event: .threadViewed)
        }
        await #expect(throws: ThreadStoreError.limitExceeded) {
            try await inbox.openThread(thread, page: MessagePageRequest(limit: 0), by: actor(), event: .threadViewed)
        }
        await #expect(throws: ThreadStoreError.self) {
            try await inbox.openThread(thread, page: MessagePageRequest(), by: actor(), event: .threadDeleted)
        }
        await #expect(throws: ThreadStoreError.limitExceeded) {
            try await inbox.listInbox(scope: .everyField, state: nil, assignment: nil, order: .lastActivity,
                                      limit: 0, after: nil)
        }
        #expect(try await inbox.listInbox(scope: InboxScope(fields: []), state: nil).isEmpty)
        #expect(try await engine.accessAudit() == before, "\(name)")
        let viewed = "\(AuditEvent.threadViewed.rawValue)"
        #expect(before.filter { $0.hasPrefix(viewed + "/") || $0.hasPrefix("\(AuditEvent.threadExported.rawValue)/") }
            == ["\(viewed)/2/I/A/1", "\(AuditEvent.threadExported.rawValue)/1/I/A/1", "\(viewed)/2/I/A/1"],
            "\(name)")

        // Through the API: the audit row names the token's channel (PostgreSQL binds channel and token as typed
        // parameters of its prepared open statement).
        let token = InboxActor(account: Self.counsellor, channel: .apiToken(try APITokenID(String(repeating: "ab",
                                                                                                    count: 16))),
                               scope: actor().scope)
        let viaAPI = try await inbox.openThread(thread, page: MessagePageRequest(limit: 1), by: token,
                                                event: .threadViewed)
        #expect(viaAPI.messages.map(\.id) == [ids[2]], "\(name)")
        #expect(try await engine.accessAudit().last == "\(viewed)/1/I/A/2", "\(name)")
    }

    @Test(arguments: engines)
    func attachmentsPartsStateAssignmentAndDeletionAreCheckedAndAudited(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let (thread, otherThread, ids) = try await fill(engine)
        let inbox = engine.inbox
        let start = try await engine.accessAudit().count

        let attachment = try await inbox.attachment(thread: thread, message: ids[1], position: 0, by: actor())
        #expect(attachment.name == "brief.pdf" && attachment.content == [0, 1, 2, 255], "\(name)")
        await #expect(throws: ThreadStoreError.messageNotFound) {
            try await inbox.attachment(thread: thread, message: ids[1], position: 1, by: actor())
        }
        await #expect(throws: ThreadStoreError.messageNotFound) {  // a message of this thread, not of that one
            try await inbox.attachment(thread: otherThread, message: ids[1], position: 0, by: actor(everyField: true))
        }
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await inbox.attachment(thread: otherThread, message: ids[1], position: 0, by: actor())
        }
        let part = try await inbox.exportPart(thread: thread, message: ids[0], index: 3, by: actor()) {
            Array($0.prefix(4))
        }
        #expect(part == Array("Eins".utf8), "\(name)")
        await #expect(throws: ThreadStoreError.messageNotFound) {
            try await inbox.exportPart(thread: thread, message: ids[0], index: 4, by: actor()) { _ in nil }
        }

        let closed = try await inbox.setState(.closed, of: thread, by: actor())
        #expect(closed.state == .closed && closed.id == thread, "\(name)")
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await inbox.setState(.closed, of: otherThread, by: actor())
        }

        // Assignment: an account of the field, one the rule refuses, an unknown one; then the filter.
        let anna = try await engine.webState.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: nil)
        let bert = try await engine.webState.createAccount(
            WebStateEngines.newAccount("bert", fields: [Self.otherField]), actor: nil, via: nil)
        let mayTake: @Sendable (Account, CounsellingField) -> Bool = { $0.fields.contains($1) }
        let assigned = try await inbox.assign(thread, to: anna, by: actor(), mayTake: mayTake)
        #expect(assigned.assignedTo == anna, "\(name)")
        await #expect(throws: ThreadStoreError.self) {
            try await inbox.assign(thread, to: bert, by: actor(), mayTake: mayTake)
        }
        await #expect(throws: ThreadStoreError.self) {
            try await inbox.assign(thread, to: .makeRandom(), by: actor(), mayTake: mayTake)
        }
        #expect(try await inbox.listInbox(scope: .everyField, state: nil, assignment: .assignedTo(anna),
                                          order: .lastActivity, limit: 10, after: nil).map(\.id) == [thread])
        #expect(try await inbox.listInbox(scope: .everyField, state: nil, assignment: .unassigned,
                                          order: .lastActivity, limit: 10, after: nil).map(\.id) == [otherThread])
        #expect(try await inbox.listInbox(scope: .everyField, state: .closed).map(\.id) == [thread])
        #expect(try await inbox.displayNames(of: [anna, bert, .makeRandom()])
            == [anna: "Counsellor anna", bert: "Counsellor bert"], "\(name)")
        #expect(try await inbox.accounts().map(\.username) == ["anna", "bert"], "\(name)")
        let unassigned = try await inbox.assign(thread, to: nil, by: actor(), mayTake: mayTake)
        #expect(unassigned.assignedTo == nil, "\(name)")

        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await inbox.deleteThread(otherThread, by: actor())
        }
        try await inbox.deleteThread(thread, by: actor())
        #expect(try await engine.inboxes[1].inboxThread(thread, scope: .everyField) == nil, "\(name)")
        await #expect(throws: ThreadStoreError.threadNotFound) { try await engine.importer.threadContent(thread) }
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await inbox.attachment(thread: thread, message: ids[1], position: 0, by: actor())
        }

        let created = "\(AuditEvent.accountCreated.rawValue)/"
        let audit = Array(try await engine.accessAudit().dropFirst(start)).filter { !$0.hasPrefix(created) }
        let (download, export, state, assign, delete) = (
            AuditEvent.attachmentDownloaded.rawValue, AuditEvent.threadExported.rawValue,
            AuditEvent.threadStateChanged.rawValue, AuditEvent.threadAssigned.rawValue,
            AuditEvent.threadDeleted.rawValue)
        #expect(audit == [
            "\(download)/0/I/A/1", "\(export)/3/I/A/1", "\(state)/\(ThreadState.closed.rawValue)/-/A/1",
            "\(assign)/-/I/A/1", "\(assign)/-/-/A/1",
            "\(delete)/-/-/A/1",
        ], "\(name)")
    }

    @Test(arguments: engines)
    func aKeyChangeIsShownOnTheNewerThreadAndConfirmedOnce(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let address = ImportEngines.identity(1).address
        let old = try await engine.importer.importMessage(ImportEngines.message("k1"),
                                                          into: .client(ImportEngines.identity(1)))
        let newKey = ClientIdentity(field: ImportEngines.field, key: ImportEngines.identity(7).key, address: address)
        let new = try await engine.importer.importMessage(ImportEngines.message("k2", at: t0.addingTimeInterval(5)),
                                                          into: .client(newKey))
        // A thread's creation time is its first message's (t0 and t0 + 5 s).
        let (oldThread, newThread) = (try #require(old.storedThread), try #require(new.storedThread))
        let view = try await engine.inbox.openThread(newThread, page: MessagePageRequest(), by: actor(),
                                                     event: .threadViewed)
        let change = try #require(view.keyChange)
        #expect(change.otherThreads.map(\.id) == [oldThread] && change.otherThreads[0].isEarlier, "\(name)")
        #expect(change.needsConfirmation && change.otherThreads[0].createdAt == t0, "\(name)")
        let oldView = try await engine.inbox.openThread(oldThread, page: MessagePageRequest(), by: actor(),
                                                        event: .threadViewed)
        #expect(oldView.keyChange?.otherThreads.map(\.isEarlier) == [false], "\(name)")
        await #expect(throws: ThreadStoreError.self) {  // nothing earlier to confirm on the older thread
            try await engine.inbox.confirmClientKeyChange(of: oldThread, by: actor())
        }
        try await engine.inbox.confirmClientKeyChange(of: newThread, by: actor())
        let confirmed = try await engine.inboxes[1].openThread(newThread, page: MessagePageRequest(), by: actor(),
                                                               event: .threadViewed)
        #expect(confirmed.keyChange?.confirmedAt == t0 && confirmed.keyChange?.needsConfirmation == false)
        await #expect(throws: ThreadStoreError.self) {
            try await engine.inbox.confirmClientKeyChange(of: newThread, by: actor())
        }
        let confirmations = try await engine.accessAudit()
            .filter { $0.hasPrefix("\(AuditEvent.clientKeyChangeConfirmed.rawValue)/") }
        #expect(confirmations == ["\(AuditEvent.clientKeyChangeConfirmed.rawValue)/-/I/A/1"], "\(name)")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
