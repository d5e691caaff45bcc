import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// Schema v17 (issue 22): who wrote each counsellor reply, and its delivery state kept by triggers on the outbox.
@Suite struct ReplyDeliveryStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func item(_ thread: ThreadID) throws -> NewOutboxItem {
        NewOutboxItem(thread: thread, kind: .counsellorReply, recipient: try ClientAddress("client1@example.org"),
                      payload: Array("encrypted".utf8), notBefore: start)
    }

    /// The delivery of each outbound message of the thread, oldest first.
    static func deliveries(_ store: ThreadStore, _ thread: ThreadID) async throws -> [ReplyDelivery?] {
        try await store.read { try $0.openInboxThread(thread) }.messages.filter { $0.direction == .outbound }
            .map(\.delivery)
    }

    @Test func stateFollowsTheOutboxFromQueuedToSentHeldReleasedAndFailed() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let author = try await store.write { tx in try tx.createAccount(AccountTests.new(), actor: nil) }
        let thread = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("q", at: Self.start), into: .client(Sample.identity()))
        }.storedThread)
        func reply(_ tag: String, minutes: Double, held: Bool) async throws -> (StoredMessageID, OutboxItemID?) {
            try await store.write { tx in
                guard case .stored(_, let message, _) = try tx.importMessage(
                    Sample.message(tag, at: Self.start + minutes * 60, direction: .outbound), into: .thread(thread))
                else { throw ThreadStoreError.invalidValue }
                let item = held ? nil : try tx.enqueueOutbox(Self.item(thread))
                try tx.recordReply(message, author: held ? nil : author, outbox: item)
                if held { try tx.holdReply(message, in: thread, problem: .missing) }
                return (message, item)
            }
        }
        let (_, firstItem) = try await reply("r1", minutes: 1, held: false)
        let (second, _) = try await reply("r2", minutes: 2, held: true)
        #expect(try await Self.deliveries(store, thread) == [ReplyDelivery(author: author, state: .queued),
                                                            ReplyDelivery(author: nil, state: .held)])
        try await store.write { tx in try tx.markOutboxDelivered(try #require(firstItem)) }
        let released = try await store.write { tx in try tx.releaseHeldReply(second, as: try Self.item(thread)) }
        #expect(released)
        #expect(try await Self.deliveries(store, thread).map { $0?.state } == [.sent, .queued])
        let secondItem = try #require(try await store.read { try $0.dueOutboxItems(now: Self.start + 86400) }.first)
        try await store.write { tx in try tx.markOutboxFailed(secondItem.id) }
        #expect(try await Self.deliveries(store, thread).map { $0?.state } == [.sent, .failed])
        // A reply without a row (stored before v17) has no delivery; deleting the thread removes the rows.
        try await store.write { tx in
            _ = try tx.importMessage(Sample.message("r3", at: Self.start + 300, direction: .outbound),
                                     into: .thread(thread))
        }
        #expect(try await Self.deliveries(store, thread).map { $0?.state } == [.sent, .failed, nil])
        try await store.deleteThread(thread)
        #expect(try await store.read { try Int.fetchOne($0.db, sql: "SELECT count(*) FROM reply_delivery") } == 0)
    }

    /// The migration gives replies stored before v17 their author from the `replyQueued` audit entry.
    @Test func theMigrationTakesAuthorsFromTheAuditLog() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let author = try await store.write { tx in try tx.createAccount(AccountTests.new(), actor: nil) }
        let (thread, audited, unaudited) = try await store.write { tx in
            let thread = try #require(try tx.importMessage(Sample.message("q", at: Self.start),
                                                           into: .client(Sample.identity())).storedThread)
            func outbound(_ tag: String) throws -> StoredMessageID {
                guard case .stored(_, let message, _) = try tx.importMessage(
                    Sample.message(tag, at: Self.start + 60, direction: .outbound), into: .thread(thread))
                else { throw ThreadStoreError.invalidValue }
                return message
            }
            let audited = try outbound("a")
            try tx.recordAccess(.replyQueued, actor: author, thread: thread, itemID: audited.unredactedDescription)
            return (thread, audited, try outbound("b"))
        }
        // Run v17 again on the store as an older version would have it (no table yet).
        try await store.pool.write { db in
            try db.execute(sql: """
                DROP TRIGGER outbox_reply_delivered; DROP TRIGGER outbox_reply_failed;
                DROP TABLE reply_delivery;
                """)
            try ReplyDeliverySchema.v17(db)
        }
        let shown = try await store.read { try $0.openInboxThread(thread) }.messages
        #expect(shown.first { $0.id == audited }?.delivery == ReplyDelivery(author: author, state: nil))
        #expect(shown.first { $0.id == unaudited }?.delivery == ReplyDelivery(author: nil, state: nil))
        #expect(shown.first { $0.direction == .inbound }?.delivery == nil)
    }
}
