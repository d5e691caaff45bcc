import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// The store side of the web inbox: listing across fields with the derived "new" state and keyset paging,
/// reading (mark read, first view, audit), assignment, single-attachment decryption and client key changes.
@Suite struct InboxStoreTests {
    /// Inserts an account row directly (the accounts API belongs to the authentication side).
    static func insertAccount(_ store: ThreadStore, name: String, disabled: Bool = false) throws -> AccountID {
        let id = AccountID.random()
        try store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO account (id, username, display_name, role, language, password_hash, disabled,
                        created_at, password_changed_at) VALUES (?, ?, ?, 0, 'de', 'x', ?, 0, 0)
                    """,
                arguments: [id.unredactedDescription, name, name, disabled])
        }
        return id
    }

    @Test func listsAcrossFieldsWithNewStateAndKeysetPaging() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let field3 = try CounsellingField("schulden")
        var created: [ThreadID] = []
        for number in 0..<7 {
            let field = [Sample.field, Sample.otherField, field3][number % 3]
            let outcome = try await store.write { tx in
                try tx.importMessage(Sample.message("m\(number)", at: start.addingTimeInterval(Double(number))),
                                     into: .client(Sample.identity(number + 1, field: field)))
            }
            created.append(try #require(outcome.storedThread))
        }
        let threads = created
        // Fields sucht (0, 3, 6) and familie (1, 4): five threads, newest first.
        let fields: Set = [Sample.field, Sample.otherField]
        let all = try await store.read { try $0.listInbox(fields: fields) }
        #expect(all.map(\.id) == [threads[6], threads[4], threads[3], threads[1], threads[0]])
        #expect(all.allSatisfy { $0.state == .new && $0.summary.unreadCount == 1 && $0.assignedTo == nil })
        // Team leads (nil) see the third field too.
        #expect(try await store.read { try $0.listInbox(fields: nil) }.count == 7)
        #expect(try await store.read { try $0.listInbox(fields: []) }.isEmpty)

        // Pages of two, following the cursor through its text form.
        var seen: [ThreadID] = []
        var cursor: InboxCursor?
        repeat {
            let page = try await store.read { [cursor] in try $0.listInbox(fields: fields, limit: 2, after: cursor) }
            seen += page.map(\.id)
            cursor = page.count == 2 ? InboxCursor(InboxCursor(after: page[1]).text) : nil
        } while cursor != nil
        #expect(seen == all.map(\.id))

        // Viewing ends "new"; a counsellor reply also does; the state filter follows.
        let actor = AccountID.random()
        try await store.write { tx in
            let unread = try tx.recordThreadRead(threads[0], actor: actor)
            #expect(unread == 1)
            _ = try tx.importMessage(Sample.message("reply", at: start.addingTimeInterval(100), direction: .outbound),
                                     into: .thread(threads[1]))
            try tx.setState(.closed, of: threads[3], actor: actor)
        }
        let new = try await store.read { try $0.listInbox(fields: fields, state: .new) }
        #expect(Set(new.map(\.id)) == [threads[4], threads[6]])
        let open = try await store.read { try $0.listInbox(fields: fields, state: .open) }
        #expect(Set(open.map(\.id)) == [threads[0], threads[1]])
        #expect(try await store.read { try $0.listInbox(fields: fields, state: .closed) }.map(\.id) == [threads[3]])
        let viewed = try #require(try await store.read { try $0.inboxThread(threads[0]) })
        #expect(viewed.summary.unreadCount == 0 && viewed.firstViewedAt != nil && viewed.state == .open)

        let audit = try await store.read { try $0.auditEntries() }.filter { $0.actor == actor }
        #expect(audit.map(\.event) == [.threadViewed, .threadStateChanged])
        #expect(audit[0].thread == threads[0])

        #expect(InboxCursor("12.zz") == nil && InboxCursor("x.\(threads[0].unredactedDescription)") == nil)
        #expect(InboxCursor("") == nil)
    }

    @Test func assignmentNeedsAnActiveAccountAndIsAudited() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("a", at: Date()), into: .client(Sample.identity()))
        }.storedThread)
        let account = try Self.insertAccount(store, name: "frau.b")
        let disabled = try Self.insertAccount(store, name: "alt", disabled: true)
        try await store.write { tx in try tx.assign(thread, to: account, actor: account) }
        #expect(try await store.read { try $0.inboxThread(thread) }?.assignedTo == account)
        #expect(try await store.read { try $0.displayNames(of: [account, disabled]) } == [
            account: "frau.b", disabled: "alt",
        ])
        await #expect(throws: ThreadStoreError(.invalidValue)) {
            try await store.write { tx in try tx.assign(thread, to: disabled, actor: account) }
        }
        await #expect(throws: ThreadStoreError(.invalidValue)) {
            try await store.write { tx in try tx.assign(thread, to: AccountID.random(), actor: account) }
        }
        try await store.write { tx in try tx.assign(thread, to: nil, actor: account) }
        #expect(try await store.read { try $0.inboxThread(thread) }?.assignedTo == nil)
        let audit = try await store.read { try $0.auditEntries() }.filter { $0.event == .threadAssigned }
        #expect(audit.map(\.itemID) == [account.unredactedDescription, nil])
        #expect(audit.allSatisfy { $0.actor == account })
    }

    @Test func attachmentsAndBodiesDecryptOneAtATimeAndOnlyInTheirThread() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let files = [NewAttachment(name: "a.pdf", mediaType: "application/pdf", content: Array("first".utf8)),
                     NewAttachment(name: "b.txt", mediaType: "text/plain", content: Array("second".utf8))]
        let (thread, message) = try await store.write { tx in
            let outcome = try tx.importMessage(Sample.message("att", at: Date(), attachments: files),
                                               into: .client(Sample.identity()))
            return (outcome.storedThread!, outcome.storedMessage!)
        }
        let other = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("other", at: Date()), into: .client(Sample.identity(2)))
        }.storedThread)
        let second = try await store.read { try $0.attachment(thread: thread, message: message, position: 1) }
        #expect(second == StoredAttachment(name: "b.txt", mediaType: "text/plain", content: Array("second".utf8)))
        await #expect(throws: ThreadStoreError.messageNotFound) {
            try await store.read { try $0.attachment(thread: other, message: message, position: 0) }
        }
        await #expect(throws: ThreadStoreError.messageNotFound) {
            try await store.read { try $0.attachment(thread: thread, message: message, position: 2) }
        }
        #expect(try await store.read { try $0.messageBody(thread: thread, message: message) } == Array("Body of att".utf8))
        await #expect(throws: ThreadStoreError.messageNotFound) {
            try await store.read { try $0.messageBody(thread: other, message: message) }
        }
        let view = try await store.read { try $0.openInboxThread(thread) }
        #expect(view.messages.count == 1)
        #expect(view.messages[0].attachments.map(\.name) == ["a.pdf", "b.txt"])
        #expect(view.messages[0].attachments.map(\.size) == [5, 6])
        #expect(view.messages[0].wasRead == false)
        #expect(view.keyChange == nil)
    }

    @Test func aKnownAddressWithANewKeyIsFlaggedUntilConfirmed() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let address = "klient@example.org"
        let old = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("old", at: Date(timeIntervalSince1970: 1_800_000_000)),
                                 into: .client(Sample.identity(1, address: address)))
        }.storedThread)
        // Same address, another key: the store starts a new thread (threads belong to one key).
        let new = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("new", at: Date(timeIntervalSince1970: 1_800_000_100)),
                                 into: .client(Sample.identity(2, address: "Klient@Example.org")))
        }.storedThread)
        #expect(old != new)
        // Another field or another address: not part of it.
        _ = try await store.write { tx in
            try tx.importMessage(Sample.message("elsewhere", at: Date()),
                                 into: .client(Sample.identity(3, field: Sample.otherField, address: address)))
        }
        let change = try #require(try await store.read { try $0.clientKeyChange(of: new) })
        #expect(change.otherThreads.map(\.id) == [old] && change.otherThreads[0].isEarlier)
        #expect(change.needsConfirmation)
        let reverse = try #require(try await store.read { try $0.clientKeyChange(of: old) })
        #expect(reverse.otherThreads.map(\.id) == [new] && !reverse.otherThreads[0].isEarlier)
        #expect(!reverse.needsConfirmation)

        let actor = AccountID.random()
        await #expect(throws: ThreadStoreError(.invalidValue)) {
            try await store.write { tx in try tx.confirmClientKeyChange(of: old, actor: actor) }  // nothing earlier
        }
        try await store.write { tx in try tx.confirmClientKeyChange(of: new, actor: actor) }
        let confirmed = try #require(try await store.read { try $0.clientKeyChange(of: new) })
        #expect(confirmed.confirmedAt != nil && !confirmed.needsConfirmation)
        await #expect(throws: ThreadStoreError(.invalidValue)) {
            try await store.write { tx in try tx.confirmClientKeyChange(of: new, actor: actor) }  // only once
        }
        let audit = try await store.read { try $0.auditEntries() }.filter { $0.event == .clientKeyChangeConfirmed }
        #expect(audit.count == 1 && audit[0].thread == new && audit[0].itemID == old.unredactedDescription)
        #expect(audit[0].actor == actor)
    }

    @Test func deletionAndStateChangesCarryTheActor() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("d", at: Date()), into: .client(Sample.identity()))
        }.storedThread)
        let actor = AccountID.random()
        try await store.deleteThread(thread, actor: actor)
        let entry = try #require(try await store.read { try $0.auditEntries() }.last)
        #expect(entry.event == .threadDeleted && entry.actor == actor && entry.thread == thread)
        #expect(try await store.read { try $0.inboxThread(thread) } == nil)
    }
}
