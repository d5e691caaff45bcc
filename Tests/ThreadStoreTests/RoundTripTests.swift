import Foundation
import GRDB
import Testing
@testable import ThreadStore

@Suite struct RoundTripTests {
    @Test func importedMessageOpensWithAllFieldsAndListsWithoutDecrypting() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let attachment = NewAttachment(name: "Befund.pdf", mediaType: "application/pdf", content: Array(0...255))
        let message = Sample.message(
            "a1",
            body: "Hallo, ich brauche Hilfe",
            subject: "Hilfe",
            at: fixture.clock.now,
            attachments: [attachment],
            ciphertext: "ct-a1"
        )

        let outcome = try await store.write { tx in try tx.importMessage(message, into: .client(Sample.identity())) }
        guard case .stored(let thread, let messageID, createdThread: true) = outcome else {
            Issue.record("expected a new thread, got \(outcome)")
            return
        }

        let opened = try await store.read { tx in try tx.openThread(thread) }
        #expect(opened.clientAddress.unredactedDescription == "client1@example.org")
        #expect(opened.clientKey == Sample.identity().key)
        #expect(opened.messages.count == 1)
        let stored = try #require(opened.messages.first)
        #expect(stored.id == messageID)
        #expect(stored.subject == "Hilfe")
        #expect(stored.body == Array("Hallo, ich brauche Hilfe".utf8))
        #expect(stored.messageID == "<a1@mail.example.org>")
        #expect(
            stored.attachments == [
                StoredAttachment(name: "Befund.pdf", mediaType: "application/pdf", content: Array(0...255))
            ]
        )
        #expect(stored.verdict == .valid)
        #expect(stored.isRead == false)
        #expect(stored.receivedAt == Date(storeMilliseconds: fixture.clock.now.storeMilliseconds))

        let listed = try await store.read { tx in try tx.listThreads(field: Sample.field) }
        #expect(listed.map(\.id) == [thread])
        #expect(listed.first?.unreadCount == 1)
        #expect(listed.first?.messageCount == 1)
        #expect(try await store.read { tx in try tx.listThreads(field: Sample.otherField) }.isEmpty)
    }

    @Test func secondMessageOfSameClientJoinsThreadAndMarkReadClearsUnread() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let first = try await store.write { tx in
            try tx.importMessage(Sample.message("m1", at: fixture.clock.now), into: .client(Sample.identity()))
        }
        let second = try await store.write { tx in
            try tx.importMessage(
                Sample.message("m2", at: fixture.clock.now.addingTimeInterval(60)),
                into: .client(Sample.identity())
            )
        }
        let other = try await store.write { tx in
            try tx.importMessage(Sample.message("m3", at: fixture.clock.now), into: .client(Sample.identity(2)))
        }
        guard case .stored(let thread, _, createdThread: false) = second else {
            Issue.record("second message should join the thread: \(second)")
            return
        }
        #expect(first.storedThread == thread)
        #expect(other.storedThread != thread)

        var summary = try #require(try await store.read { tx in try tx.thread(thread) })
        #expect(summary.unreadCount == 2)
        #expect(summary.messageCount == 2)

        let changed = try await store.write { tx in try tx.markRead(thread: thread) }
        #expect(changed == 2)
        summary = try #require(try await store.read { tx in try tx.thread(thread) })
        #expect(summary.unreadCount == 0)
        #expect(summary.messageCount == 2)
        #expect(try await store.read { tx in try tx.openThread(thread) }.messages.allSatisfy(\.isRead))

        // The unrelated thread is untouched.
        let otherSummary = try #require(try await store.read { tx in try tx.thread(other.storedThread!) })
        #expect(otherSummary.unreadCount == 1)
    }

    @Test func listingPagesByLastActivityAndFiltersByState() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        var threads: [ThreadID] = []
        for number in 1...7 {
            let date = fixture.clock.now.addingTimeInterval(Double(number) * 60)
            let outcome = try await store.write { tx in
                try tx.importMessage(Sample.message("p\(number)", at: date), into: .client(Sample.identity(number)))
            }
            threads.append(try #require(outcome.storedThread))
        }
        let first = threads[0]
        try await store.write { tx in try tx.setState(.closed, of: first) }

        let page1 = try await store.read { tx in try tx.listThreads(field: Sample.field, limit: 3) }
        let page2 = try await store.read { tx in try tx.listThreads(field: Sample.field, limit: 3, before: page1.last) }
        let page3 = try await store.read { tx in try tx.listThreads(field: Sample.field, limit: 3, before: page2.last) }
        #expect((page1 + page2 + page3).map(\.id) == threads.reversed())

        let open = try await store.read { tx in try tx.listThreads(field: Sample.field, state: .open, limit: 50) }
        #expect(Set(open.map(\.id)) == Set(threads.dropFirst()))
        let closed = try await store.read { tx in try tx.listThreads(field: Sample.field, state: .closed) }
        #expect(closed.map(\.id) == [threads[0]])

        await #expect(throws: ThreadStoreError.limitExceeded) {
            try await store.read { tx in try tx.listThreads(field: Sample.field, limit: 100_000) }
        }
    }

    @Test func unknownThreadIsTypedNotFound() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let missing = ThreadID.random()
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await store.read { tx in try tx.openThread(missing) }
        }
        #expect(try await store.read { tx in try tx.thread(missing) } == nil)
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await store.write { tx in try tx.importMessage(Sample.message("x", at: Date()), into: .thread(missing))
            }
        }
    }

    @Test func contentIsNotInClearInAnyColumnOrFile() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let canary = "CANARY-\(UUID().uuidString)"
        let identity = Sample.identity(9, address: "\(canary.lowercased())@example.org")
        let message = Sample.message(
            "c1",
            body: "body \(canary)",
            subject: "subject \(canary)",
            at: Date(),
            attachments: [NewAttachment(name: "\(canary).txt", mediaType: "text/plain", content: Array(canary.utf8))]
        )
        let outcome = try await store.write { tx in
            let outcome = try tx.importMessage(message, into: .client(identity))
            try tx.enqueueOutbox(
                NewOutboxItem(
                    thread: outcome.storedThread,
                    kind: .counsellorReply,
                    recipient: identity.address,
                    payload: Array("reply \(canary)".utf8),
                    notBefore: Date()
                )
            )
            return outcome
        }
        #expect(outcome.storedThread != nil)
        for needle in [canary, canary.lowercased(), Sample.identity(9).key.hex] {
            #expect(!fixture.filesContain(Data(needle.utf8)), "clear text found in the database files")
        }
        try await store.checkpoint()
        #expect(!fixture.filesContain(Data(canary.utf8)))
    }

    @Test func durabilityPragmasAreSet() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let (journal, synchronous, secureDelete, foreignKeys) = try await store.pool.write { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try Int.fetchOne(db, sql: "PRAGMA secure_delete"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys")
            )
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL
        #expect(secureDelete == 1)
        #expect(foreignKeys == 1)
        let readerSecureDelete = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA secure_delete") }
        #expect(readerSecureDelete == 1)
        _ = try await store.write { tx in
            try tx.importMessage(Sample.message("perm", at: Date()), into: .client(Sample.identity()))
        }
        // SQLite gives -wal and -shm the mode of the database file.
        for suffix in ["", "-wal", "-shm"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: fixture.databaseURL.path + suffix)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "mode of \(suffix)")
        }
    }
}
