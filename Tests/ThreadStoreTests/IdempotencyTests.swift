import Foundation
import GRDB
import Testing
@testable import ThreadStore

private struct Abort: Error {}

@Suite struct IdempotencyTests {
    @Test func sameMessageTwiceIsStoredOnce() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let message = Sample.message("dup", at: fixture.clock.now, ciphertext: "ct-dup")
        let first = try await store.write { tx in try tx.importMessage(message, into: .client(Sample.identity())) }
        let second = try await store.write { tx in try tx.importMessage(message, into: .client(Sample.identity())) }
        let thread = try #require(first.storedThread)
        #expect(second == .duplicate(thread, try #require(first.storedMessage)))
        // Same again, addressed by thread ID, and without a ciphertext hash: still a duplicate.
        var plain = message
        plain.replayFingerprints = []
        let withoutHash = plain
        let third = try await store.write { tx in try tx.importMessage(withoutHash, into: .thread(thread)) }
        #expect(third == .duplicate(thread, try #require(first.storedMessage)))
        #expect(try await store.read { tx in try tx.openThread(thread) }.messages.count == 1)
    }

    @Test func sameMessageIDWithOtherContentIsANewMessage() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let one = Sample.message("same-id", body: "version one", at: fixture.clock.now)
        let two = Sample.message("same-id", body: "version two", at: fixture.clock.now)
        let first = try await store.write { tx in try tx.importMessage(one, into: .client(Sample.identity())) }
        let second = try await store.write { tx in try tx.importMessage(two, into: .client(Sample.identity())) }
        #expect(second.storedThread == first.storedThread)
        #expect(second.storedMessage != nil)
    }

    @Test func uniqueConstraintHoldsInSQLEvenIfSwiftCheckIsBypassed() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let outcome = try await store.write { tx in
            try tx.importMessage(Sample.message("u1", at: Date()), into: .client(Sample.identity()))
        }
        let messageID = try #require(outcome.storedMessage)
        await #expect(throws: ThreadStoreError.storageFailure) {
            try await store.write { tx in
                try tx.db.execute(
                    sql: """
                        INSERT INTO message SELECT ?, thread_id, direction, message_id_hmac, content_hmac, verdict,
                        received_at, is_read, body_size, attachment_count, header_message_id_sealed, subject_sealed,
                        body_sealed, signer_sealed FROM message WHERE id = ?
                        """,
                    arguments: [StoredMessageID.random().unredactedDescription, messageID.unredactedDescription]
                )
            }
        }
    }

    @Test func replayedCiphertextIsDetectedAcrossThreads() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let hash = Sample.replayFingerprint("ct-replay")
        #expect(try await store.read { tx in try tx.replaySeenBefore(hash) } == false)
        let original = Sample.message("r1", at: fixture.clock.now, ciphertext: "ct-replay")
        _ = try await store.write { tx in try tx.importMessage(original, into: .client(Sample.identity(1))) }
        #expect(try await store.read { tx in try tx.replaySeenBefore(hash) })

        // The same encrypted payload, now claimed by another client with another Message-ID: a replay.
        let replay = Sample.message("r2", at: fixture.clock.now, ciphertext: "ct-replay")
        let outcome = try await store.write { tx in try tx.importMessage(replay, into: .client(Sample.identity(2))) }
        #expect(outcome == .replayedCiphertext)
        // No thread was created for the replay.
        let threads = try await store.read { tx in try tx.listThreads(field: Sample.field) }
        #expect(threads.count == 1)
        let audit = try await store.read { tx in try tx.auditEntries() }
        #expect(audit.contains { $0.event == .replayRejected })
    }

    @Test func errorInWriteClosureRollsBackImportAndOutbox() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let message = Sample.message("rb", at: fixture.clock.now, ciphertext: "ct-rb")
        await #expect(throws: Abort.self) {
            try await store.write { tx in
                let outcome = try tx.importMessage(message, into: .client(Sample.identity()))
                try tx.enqueueOutbox(
                    NewOutboxItem(
                        thread: outcome.storedThread,
                        kind: .notification,
                        recipient: try ClientAddress("t@example.org"),
                        payload: [1, 2, 3],
                        notBefore: Date()
                    )
                )
                throw Abort()
            }
        }
        #expect(try await store.read { tx in try tx.listThreads(field: Sample.field) }.isEmpty)
        #expect(try await store.read { tx in try tx.dueOutboxItems(now: Date.distantFuture) }.isEmpty)
        #expect(try await store.read { tx in try tx.replaySeenBefore(message.replayFingerprints[0]) } == false)
        // And the message can be imported afterwards.
        let outcome = try await store.write { tx in try tx.importMessage(message, into: .client(Sample.identity())) }
        #expect(outcome.storedMessage != nil)
    }
}
