import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// Paging through a long thread (only the page is decrypted) and the assignment filter of the inbox list.
@Suite struct InboxPagingTests {
    /// A thread of `count` inbound messages; messages 2k and 2k+1 share their received time (so the ID breaks the
    /// tie), and message n has the subject "Subject m<n>". Returns the thread and the stored order of message IDs.
    static func longThread(_ store: ThreadStore, count: Int, attachmentOn: Int? = nil) async throws
        -> (ThreadID, [StoredMessageID])
    {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let thread = try await store.write { tx in
            var thread: ThreadID?
            for number in 0..<count {
                let files = number == attachmentOn
                    ? [NewAttachment(name: "a\(number).txt", mediaType: "text/plain", content: Array("x".utf8))] : []
                let message = Sample.message("m\(number)", at: start.addingTimeInterval(Double(number / 2)),
                                             attachments: files)
                let destination: ImportDestination = thread.map { .thread($0) } ?? .client(Sample.identity())
                let outcome = try tx.importMessage(message, into: destination)
                thread = thread ?? outcome.storedThread
            }
            return thread!
        }
        let order = try await store.read { tx in
            try String.fetchAll(tx.db, sql: "SELECT id FROM message WHERE thread_id = ? ORDER BY received_at, id",
                                arguments: [thread.unredactedDescription]).map { try StoredMessageID($0) }
        }
        return (thread, order)
    }

    static func tags(_ view: InboxThreadView) -> Set<String> {
        Set(view.messages.map { String($0.subject.dropFirst("Subject ".count)) })
    }

    @Test func pagesAreKeysetSlicesOfTheThreadOldestFirstWithinThePage() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let (thread, order) = try await Self.longThread(store, count: 120)
        #expect(order.count == 120)

        // The default page: the newest 50, oldest first.
        let newest = try await store.read { try $0.openInboxThread(thread) }
        #expect(newest.messages.map(\.id) == Array(order[70...]))
        #expect(Self.tags(newest) == Set((70..<120).map { "m\($0)" }))
        #expect(newest.page.earlierCount == 70 && newest.page.earlierUnreadCount == 70)
        #expect(newest.page.laterCount == 0 && newest.page.laterCursor == nil)

        // Backwards through the text form of the cursors: 50, then the first 20.
        let earlierCursor = try #require(newest.page.earlierCursor.flatMap { MessageCursor($0.text) })
        #expect(earlierCursor.id == order[70])
        let middle = try await store.read { try $0.openInboxThread(thread, page: .init(.before(earlierCursor))) }
        #expect(middle.messages.map(\.id) == Array(order[20..<70]))
        #expect(middle.page.earlierCount == 20 && middle.page.laterCount == 50 && middle.page.laterUnreadCount == 50)
        let oldestCursor = try #require(middle.page.earlierCursor)
        let oldest = try await store.read { try $0.openInboxThread(thread, page: .init(.before(oldestCursor))) }
        #expect(oldest.messages.map(\.id) == Array(order[..<20]))
        #expect(oldest.page.earlierCount == 0 && oldest.page.earlierCursor == nil && oldest.page.laterCount == 100)

        // Forwards again in pages of 45: 20..<65, 65..<110, 110..<120.
        var forward: [StoredMessageID] = oldest.messages.map(\.id)
        var cursor = oldest.page.laterCursor
        while let next = cursor {
            let page = try await store.read { try $0.openInboxThread(thread, page: .init(.after(next), limit: 45)) }
            #expect(page.messages.count == min(45, 120 - forward.count))
            forward += page.messages.map(\.id)
            cursor = page.page.laterCursor
        }
        #expect(forward == order)

        // Reading marks everything read: the counts say so on the next view.
        let actor = AccountID.random()
        try await store.write { tx in _ = try tx.recordThreadRead(thread, actor: actor) }
        let again = try await store.read { try $0.openInboxThread(thread) }
        #expect(again.page.earlierCount == 70 && again.page.earlierUnreadCount == 0)
        #expect(again.messages.allSatisfy { $0.wasRead })

        // A cursor past either end: an empty page without cursors. Limits are checked.
        let last = MessageCursor(receivedAtMilliseconds: Int64(1_800_000_059_000), id: order[119])
        let beyond = try await store.read { try $0.openInboxThread(thread, page: .init(.after(last))) }
        #expect(beyond.messages.isEmpty && beyond.page == MessagePageInfo())
        for limit in [0, MessagePageRequest.maximumLimit + 1] {
            await #expect(throws: ThreadStoreError.limitExceeded) {
                try await store.read { try $0.openInboxThread(thread, page: .init(limit: limit)) }
            }
        }
        #expect(try await store.read { try $0.openInboxThread(thread, page: .init(limit: 200)) }.messages.count == 120)
        for text in ["", "12", "12.zz", "x.\(order[0].unredactedDescription)", "-1.\(order[0].unredactedDescription)",
                     "12345678901234567.\(order[0].unredactedDescription)", "1.2.3"] {
            #expect(MessageCursor(text) == nil, "\(text)")
        }
        #expect("\(earlierCursor)" == "MessageCursor(<redacted>)")
    }

    /// The proof that a page decrypts only its own messages: sealed values of messages outside the page are
    /// destroyed, and the page still opens; the page that holds them fails to unseal.
    @Test func aPageDecryptsOnlyItsOwnMessages() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let (thread, order) = try await Self.longThread(store, count: 120, attachmentOn: 3)
        let newest = try await store.read { try $0.openInboxThread(thread) }
        #expect(newest.messages.count == 50)
        let withAttachment = try await store.read { tx in
            try String.fetchOne(tx.db, sql: "SELECT message_id FROM attachment")
        }
        let attached = try #require(withAttachment)
        #expect([order[2], order[3]].map(\.unredactedDescription).contains(attached))
        try await store.pool.write { db in
            // The oldest message's body and the attachment name of message 2 or 3: all outside the newest page.
            try db.execute(sql: "UPDATE message SET body_sealed = randomblob(64) WHERE id = ?",
                           arguments: [order[0].unredactedDescription])
            try db.execute(sql: "UPDATE attachment SET name_sealed = randomblob(64)")
        }
        let stillOpens = try await store.read { try $0.openInboxThread(thread) }
        #expect(stillOpens.messages.map(\.id) == newest.messages.map(\.id))
        let cursors = order.indices.map {
            MessageCursor(receivedAtMilliseconds: 1_800_000_000_000 + Int64($0 / 2) * 1000, id: order[$0])
        }
        // Message 1 alone opens; the pages holding message 0 or the attachment fail to unseal.
        let one = try await store.read { try $0.openInboxThread(thread, page: .init(.after(cursors[0]), limit: 1)) }
        #expect(one.messages.map(\.id) == [order[1]])
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await store.read { try $0.openInboxThread(thread, page: .init(.before(cursors[1]))) }
        }
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await store.read { try $0.openInboxThread(thread, page: .init(.after(cursors[1]), limit: 2)) }
        }
        // From message 4 on, everything opens.
        let rest = try await store.read { try $0.openInboxThread(thread, page: .init(.after(cursors[3]), limit: 200)) }
        #expect(rest.messages.map(\.id) == Array(order[4...]))
    }

    @Test func theAssignmentFilterListsMineOrUnassignedWithKeysetPaging() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var threads: [ThreadID] = []
        for number in 0..<7 {
            let field = number == 6 ? Sample.otherField : Sample.field
            let outcome = try await store.write { tx in
                try tx.importMessage(Sample.message("t\(number)", at: start.addingTimeInterval(Double(number))),
                                     into: .client(Sample.identity(number + 1, field: field)))
            }
            threads.append(try #require(outcome.storedThread))
        }
        let me = try InboxStoreTests.insertAccount(store, name: "ich")
        let other = try InboxStoreTests.insertAccount(store, name: "andere")
        try await store.write { [threads] tx in
            for index in [0, 2, 4, 6] { try tx.assign(threads[index], to: me, actor: me) }
            try tx.assign(threads[1], to: other, actor: other)
            try tx.setState(.closed, of: threads[2], actor: me)
        }
        let field: Set = [Sample.field]
        func ids(_ list: [InboxThread]) -> [ThreadID] { list.map(\.id) }
        #expect(ids(try await store.read { try $0.listInbox(fields: field, assignment: .assignedTo(me)) })
            == [threads[4], threads[2], threads[0]])
        #expect(ids(try await store.read { try $0.listInbox(fields: nil, assignment: .assignedTo(me)) })
            == [threads[6], threads[4], threads[2], threads[0]])
        #expect(ids(try await store.read { try $0.listInbox(fields: field, assignment: .unassigned) })
            == [threads[5], threads[3]])
        #expect(ids(try await store.read {
            try $0.listInbox(fields: field, state: .closed, assignment: .assignedTo(me))
        }) == [threads[2]])
        #expect(try await store.read { try $0.listInbox(fields: field, assignment: .assignedTo(.random())) }.isEmpty)
        // Pages of one, following the cursor.
        var seen: [ThreadID] = []
        var cursor: InboxCursor?
        repeat {
            let page = try await store.read { [cursor] in
                try $0.listInbox(fields: nil, assignment: .assignedTo(me), limit: 1, after: cursor)
            }
            seen += ids(page)
            cursor = page.first.map(InboxCursor.init(after:))
        } while cursor != nil
        #expect(seen == [threads[6], threads[4], threads[2], threads[0]])
    }

    /// "Cheap at any size": the message pages and the assignee list are index ranges, never a sort of the thread
    /// or of all threads.
    @Test func pagingAndAssigneeQueriesWalkTheirIndexesWithoutSorting() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = ThreadID.random().unredactedDescription
        let message = StoredMessageID.random().unredactedDescription
        let plans: [(String, StatementArguments, String)] = [
            (MessagePageQueries.newest, [thread, 50], "message_by_thread_order"),
            (MessagePageQueries.before, [thread, 1, message, 50], "message_by_thread_order"),
            (MessagePageQueries.after, [thread, 1, message, 50], "message_by_thread_order"),
            (MessagePageQueries.countBefore, [thread, 1, message], "message_by_thread_order"),
            (MessagePageQueries.countAfter, [thread, 1, message], "message_by_thread_order"),
        ] + [nil, Set([Sample.field, Sample.otherField])].flatMap { fields in
            [nil, InboxState.open].map { state in
                let (sql, arguments) = InboxQueries.list(
                    fields: fields, state: state, assignment: .assignedTo(.random()), limit: 50,
                    after: InboxCursor("1.\(thread)"))
                return (sql, arguments, "thread_by_assignee")
            }
        }
        for (sql, arguments, index) in plans {
            let details = try await store.read { tx in
                try Row.fetchAll(tx.db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                    .map { $0["detail"] as String }
            }
            #expect(details.contains { $0.contains("USING INDEX \(index)") || $0.contains("COVERING INDEX \(index)") },
                    "\(details)")
            #expect(!details.contains { $0.contains("TEMP B-TREE") }, "\(details)")
        }
    }
}
