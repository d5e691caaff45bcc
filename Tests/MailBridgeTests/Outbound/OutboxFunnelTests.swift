import Foundation
import NIOConcurrencyHelpers
import Testing
import ThreadStore
@testable import MailBridge

/// The outbound funnel (issue 19): `Outbox.enqueue(_:in:)` queues in the caller's transaction and wakes the queue
/// only after that transaction committed, never for one that rolled back. A real SQLite store.
@Suite struct OutboxFunnelTests {
    private struct Planned: Error {}

    @Test func wakesAfterCommitOnly() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try ThreadStore(at: folder.url.appendingPathComponent("threads.sqlite"), masterKey: .generate())
        defer { try? store.close() }
        let wakes = NIOLockedValueBox(0)
        let outbox = Outbox(wake: { wakes.withLockedValue { $0 += 1 } })
        let item = try NewOutboxItem(thread: nil, kind: .redirectReply, recipient: ClientAddress("c@example.net"),
                                     payload: Array("Subject: t\r\n\r\nx\r\n".utf8), notBefore: Date())

        // Rolled back: no row, no wake.
        await #expect(throws: Planned.self) {
            try await store.write { tx in
                try outbox.enqueue(item, in: tx)
                throw Planned()
            }
        }
        #expect(wakes.withLockedValue { $0 } == 0)
        #expect(try await store.read { try $0.dueOutboxItems(now: Date(), limit: 10) }.isEmpty)

        // Committed: woken once per enqueue, only after the commit, and the rows are there.
        try await store.write { tx in
            try outbox.enqueue(item, in: tx)
            try outbox.enqueue(item, in: tx)
            #expect(wakes.withLockedValue { $0 } == 0, "woken before the commit")
        }
        #expect(wakes.withLockedValue { $0 } == 2)
        #expect(try await store.read { try $0.dueOutboxItems(now: Date(), limit: 10) }.count == 2)
    }
}
