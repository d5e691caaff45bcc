import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// A reply needs the client identity and the newest inbound message's Message-ID and subject; nothing else of the
/// thread is decrypted, so replying to a long thread costs the same as replying to a short one.
@Suite struct ReplyBasisTests {
    @Test func onlyTheIdentityAndTheNewestInboundHeadersAreDecrypted() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let file = NewAttachment(name: "a.txt", mediaType: "text/plain", content: Array("x".utf8))
        let thread = try await store.write { tx in
            var thread: ThreadID?
            for number in 0..<30 {
                let message = Sample.message("m\(number)", at: start.addingTimeInterval(Double(number)),
                                             attachments: number == 29 ? [file] : [])
                let destination: ImportDestination = thread.map { .thread($0) } ?? .client(Sample.identity())
                let outcome = try tx.importMessage(message, into: destination)
                thread = thread ?? outcome.storedThread
            }
            // A counsellor reply after the newest inbound message: not what a reply refers to.
            _ = try tx.importMessage(Sample.message("out", at: start.addingTimeInterval(100), direction: .outbound),
                                     into: .thread(thread!))
            return thread!
        }
        // Destroy every sealed value a reply must not need: all bodies, all attachments, the headers of every
        // message but the newest inbound one.
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE message SET body_sealed = randomblob(64)")
            try db.execute(sql: "UPDATE attachment SET name_sealed = randomblob(64), content_sealed = randomblob(64)")
            try db.execute(sql: """
                UPDATE message SET subject_sealed = randomblob(64), header_message_id_sealed = randomblob(64)
                WHERE received_at != ? OR direction != 0
                """, arguments: [start.addingTimeInterval(29).storeMilliseconds])
        }
        let basis = try await store.read { try $0.replyBasis(thread) }
        #expect(basis.lastInbound?.messageID == "<m29@mail.example.org>")
        #expect(basis.lastInbound?.subject == "Subject m29")
        #expect(basis.clientAddress == Sample.identity().address && basis.clientKey == Sample.identity().key)
        #expect(basis.summary.id == thread && basis.summary.messageCount == 31)
        #expect("\(basis)".contains("<redacted>") && !"\(basis)".contains("m29"))
        // The whole-thread view cannot open it any more; the reply basis did not touch what broke it.
        await #expect(throws: ThreadStoreError.unsealingFailed) { try await store.read { try $0.openThread(thread) } }
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await store.read { try $0.replyBasis(ThreadID.random()) }
        }
    }
}
