import Foundation
import GRDB
import Testing
@testable import ThreadStore

@Suite struct OutboxTests {
    @Test func outboxItemsQueueRetryFailAndDeliver() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let now = fixture.clock.now
        let recipient = try ClientAddress("plain-sender@example.net")
        let (thread, threadItem, redirect) = try await store.write { tx in
            let outcome = try tx.importMessage(Sample.message("o1", at: now), into: .client(Sample.identity()))
            let thread = outcome.storedThread!
            let threadItem = try tx.enqueueOutbox(
                NewOutboxItem(
                    thread: thread,
                    kind: .counsellorReply,
                    recipient: Sample.identity().address,
                    payload: Array("encrypted reply".utf8),
                    notBefore: now
                )
            )
            let redirect = try tx.enqueueOutbox(
                NewOutboxItem(
                    thread: nil,
                    kind: .redirectReply,
                    recipient: recipient,
                    payload: Array("please use encryption".utf8),
                    notBefore: now.addingTimeInterval(10)
                )
            )
            return (thread, threadItem, redirect)
        }
        #expect(try await store.read { tx in try tx.nextOutboxAttemptDate() } == now.truncatedToStoreMilliseconds)
        var due = try await store.read { tx in try tx.dueOutboxItems(now: now) }
        #expect(due.map(\.id) == [threadItem])
        #expect(due.first?.payload == Array("encrypted reply".utf8))
        #expect(due.first?.thread == thread)
        #expect(due.first?.queuedAt == now.truncatedToStoreMilliseconds)

        due = try await store.read { tx in try tx.dueOutboxItems(now: now.addingTimeInterval(10)) }
        #expect(due.map(\.id) == [threadItem, redirect])
        #expect(due.last?.recipient == recipient)
        #expect(due.last?.kind == .redirectReply)

        try await store.write { tx in try tx.scheduleOutboxRetry(threadItem, at: now.addingTimeInterval(600)) }
        due = try await store.read { tx in try tx.dueOutboxItems(now: now.addingTimeInterval(10)) }
        #expect(due.map(\.id) == [redirect])
        #expect(
            try await store.read { tx in try tx.nextOutboxAttemptDate() }
                == now.addingTimeInterval(10).truncatedToStoreMilliseconds
        )
        due = try await store.read { tx in try tx.dueOutboxItems(now: now.addingTimeInterval(600)) }
        #expect(due.first { $0.id == threadItem }?.attempts == 1)

        try await store.write { tx in try tx.markOutboxDelivered(threadItem) }
        try await store.write { tx in try tx.markOutboxFailed(redirect) }
        due = try await store.read { tx in try tx.dueOutboxItems(now: .distantFuture) }
        #expect(due.isEmpty)
        #expect(try await store.read { tx in try tx.nextOutboxAttemptDate() } == nil)
        await #expect(throws: ThreadStoreError.outboxItemNotFound) {
            try await store.write { tx in try tx.markOutboxDelivered(threadItem) }
        }
        let events = try await store.read { tx in try tx.auditEntries() }.map(\.event)
        #expect(events.contains(.outboxDelivered) && events.contains(.outboxFailed))
    }

    @Test func threadOutboxItemDiesWithItsThread() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = try await store.write { tx in
            let thread = try tx.importMessage(Sample.message("o2", at: Date()), into: .client(Sample.identity()))
                .storedThread!
            try tx.enqueueOutbox(
                NewOutboxItem(
                    thread: thread,
                    kind: .counsellorReply,
                    recipient: Sample.identity().address,
                    payload: [1],
                    notBefore: Date()
                )
            )
            return thread
        }
        try await store.deleteThread(thread)
        #expect(try await store.read { tx in try tx.dueOutboxItems(now: .distantFuture) }.isEmpty)
    }
}

@Suite struct RateLimitTests {
    @Test func redirectIsSentOncePerPeriodPerSender() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let alice = store.senderHMAC(canonicalAddress: "alice@example.org")
        let bob = store.senderHMAC(canonicalAddress: "bob@example.org")
        #expect(alice != bob)
        #expect(alice == store.senderHMAC(canonicalAddress: "alice@example.org"))
        let t0 = fixture.clock.now
        func ask(_ sender: SenderHMAC, _ offset: TimeInterval) async throws -> Bool {
            try await store.write { tx in
                try tx.shouldSendRedirect(to: sender, now: t0.addingTimeInterval(offset), period: 3600)
            }
        }
        #expect(try await ask(alice, 0))
        #expect(try await ask(alice, 10) == false)
        #expect(try await ask(bob, 10))
        #expect(try await ask(alice, 3599) == false)
        #expect(try await ask(alice, 3600))
        #expect(try await ask(alice, 3700) == false)

        // The table holds HMACs, not addresses.
        #expect(!fixture.filesContain(Data("alice@example.org".utf8)))
        // Another master key gives other HMACs (not a plain hash of the address).
        let otherFixture = try StoreFixture()
        defer { otherFixture.cleanUp() }
        let other = try otherFixture.open()
        #expect(other.senderHMAC(canonicalAddress: "alice@example.org") != alice)
    }

    @Test func concurrentRedirectDecisionsAllowExactlyOne() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let sender = store.senderHMAC(canonicalAddress: "carol@example.org")
        let now = fixture.clock.now
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await store.write { tx in try tx.shouldSendRedirect(to: sender, now: now, period: 60) }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
    }
}
