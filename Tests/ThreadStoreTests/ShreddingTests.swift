import Foundation
import GRDB
import Testing
@testable import ThreadStore

@Suite struct ShreddingTests {
    /// Sealed bytes of one thread, read raw from SQLite, to search for in the files later.
    struct SealedBytes {
        var whole: [Data] = []  // short blobs that fit in one page: must be found whole
        var slices: [Data] = []  // 32-byte slices of the long body (spread over overflow pages)
    }

    static func sealedBytes(of thread: ThreadID, in store: ThreadStore) async throws -> SealedBytes {
        try await store.pool.read { db in
            var result = SealedBytes()
            let id = thread.unredactedDescription
            result.whole += try Data.fetchAll(
                db,
                sql: "SELECT wrapped_key FROM thread_key WHERE thread_id = ?",
                arguments: [id]
            )
            result.whole += try Data.fetchAll(
                db,
                sql: "SELECT client_address_sealed FROM thread WHERE id = ?",
                arguments: [id]
            )
            result.whole += try Data.fetchAll(
                db,
                sql: "SELECT subject_sealed FROM message WHERE thread_id = ?",
                arguments: [id]
            )
            result.whole += try Data.fetchAll(
                db,
                sql:
                    """
                    SELECT a.name_sealed FROM attachment a JOIN message m ON m.id = a.message_id
                    WHERE m.thread_id = ?
                    """,
                arguments: [id]
            )
            result.whole += try Data.fetchAll(
                db,
                sql: "SELECT payload_sealed FROM outbox WHERE thread_id = ?",
                arguments: [id]
            )
            for body in try Data.fetchAll(
                db,
                sql: "SELECT body_sealed FROM message WHERE thread_id = ?",
                arguments: [id]
            ) {
                for offset in stride(from: 0, to: body.count - 32, by: 997) {
                    result.slices.append(body.subdata(in: body.startIndex + offset..<body.startIndex + offset + 32))
                }
            }
            return result
        }
    }

    @Test func deletedThreadIsUnrecoverableFromDatabaseAndWAL() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let canary = "SHRED-CANARY-\(UUID().uuidString)"
        let longBody = String(repeating: "\(canary) ", count: 2_000)  // ~100 KB: overflow pages
        let victim = Sample.identity(1, address: "victim-\(canary)@example.org")
        let outcome = try await store.write { tx in
            let outcome = try tx.importMessage(
                Sample.message(
                    "v1",
                    body: longBody,
                    subject: "S \(canary)",
                    at: fixture.clock.now,
                    attachments: [
                        NewAttachment(name: "\(canary).pdf", mediaType: "application/pdf", content: Array(canary.utf8))
                    ],
                    ciphertext: "ct-v1"
                ),
                into: .client(victim)
            )
            try tx.enqueueOutbox(
                NewOutboxItem(
                    thread: outcome.storedThread,
                    kind: .counsellorReply,
                    recipient: victim.address,
                    payload: Array("reply \(canary)".utf8),
                    notBefore: fixture.clock.now
                )
            )
            return outcome
        }
        let thread = try #require(outcome.storedThread)
        let keeper = try await store.write { tx in
            try tx.importMessage(Sample.message("k1", at: fixture.clock.now), into: .client(Sample.identity(2)))
        }.storedThread!

        // Before deletion: the canary is sealed, so it is nowhere in clear...
        #expect(!fixture.filesContain(Data(canary.utf8)))
        // ...but the sealed bytes are in the files (this makes the later "not found" meaningful).
        let sealed = try await Self.sealedBytes(of: thread, in: store)
        #expect(sealed.whole.count == 5)
        #expect(sealed.slices.count > 50)
        for blob in sealed.whole { #expect(fixture.filesContain(blob)) }
        let foundBefore = sealed.slices.filter { fixture.filesContain($0) }.count
        #expect(foundBefore >= sealed.slices.count * 9 / 10)
        let keeperSealed = try await Self.sealedBytes(of: keeper, in: store)

        try await store.deleteThread(thread)

        // Rows gone, key gone, WAL truncated.
        let remaining = try await store.pool.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM thread WHERE id = ?1)
                    + (SELECT count(*) FROM thread_key WHERE thread_id = ?1)
                    + (SELECT count(*) FROM message WHERE thread_id = ?1)
                    + (SELECT count(*) FROM outbox WHERE thread_id = ?1)
                    + (SELECT count(*) FROM attachment WHERE message_id NOT IN (SELECT id FROM message))
                    """,
                arguments: [thread.unredactedDescription]
            )
        }
        #expect(remaining == 0)
        let walSize = fixture.rawFiles().first { $0.name.hasSuffix("-wal") }?.bytes.count
        #expect(walSize == 0)
        // No sealed byte of the thread survives in the database file, the WAL or the shm file.
        for blob in sealed.whole { #expect(!fixture.filesContain(blob), "a sealed blob survived deletion") }
        let foundAfter = sealed.slices.filter { fixture.filesContain($0) }.count
        #expect(foundAfter == 0)
        #expect(!fixture.filesContain(Data(canary.utf8)))

        // The other thread is intact.
        for blob in keeperSealed.whole { #expect(fixture.filesContain(blob)) }
        #expect(try await store.read { tx in try tx.openThread(keeper) }.messages.count == 1)
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await store.read { tx in try tx.openThread(thread) }
        }
        await #expect(throws: ThreadStoreError.threadNotFound) { try await store.deleteThread(thread) }

        // The audit log records the deletion, with no content.
        let audit = try await store.read { tx in try tx.auditEntries() }
        #expect(audit.contains { $0.event == .threadDeleted && $0.thread == thread })
        #expect(try await store.integrityCheck())
    }
}
