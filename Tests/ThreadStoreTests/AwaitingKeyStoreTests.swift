import Foundation
import Testing
@testable import ThreadStore

/// Threads without key and held replies in the store (issue 17), with a real SQLite file.
@Suite struct AwaitingKeyStoreTests {
    static let signer = try! AwaitedSignerID(String(format: "%040X", 7))

    private func awaiting(_ address: String = "client1@example.org", signer: AwaitedSignerID? = signer)
        -> AwaitingKeyClient
    {
        AwaitingKeyClient(field: Sample.field, address: try! ClientAddress(address), signer: signer)
    }

    @Test func aThreadWithoutKeyIsInvisibleToLookupsByKeyAndAddress() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let now = fixture.clock.now
        let known = try await store.write { try $0.importMessage(Sample.message("a", at: now), into: .client(Sample.identity(1))) }
        let knownThread = try #require(known.storedThread)
        // Same address, and the awaited signer is the very fingerprint of the known key: still a thread of its own.
        let claimed = AwaitingKeyClient(field: Sample.field, address: Sample.identity(1).address,
                                        signer: try AwaitedSignerID(Sample.identity(1).key.hex))
        let outcome = try await store.write { try $0.importMessage(Sample.message("b", at: now), into: .awaitingKey(claimed)) }
        let thread = try #require(outcome.storedThread)
        #expect(thread != knownThread)
        let again = try await store.write { try $0.importMessage(Sample.message("c", at: now), into: .awaitingKey(claimed)) }
        #expect(again.storedThread == thread)
        // Unsigned mail from the same address: another thread again.
        let unsigned = AwaitingKeyClient(field: Sample.field, address: Sample.identity(1).address, signer: nil)
        let other = try await store.write { try $0.importMessage(Sample.message("d", at: now), into: .awaitingKey(unsigned)) }
        #expect(![thread, knownThread].contains(try #require(other.storedThread)))

        let found = try await store.read { tx in
            (try tx.findThread(client: Sample.identity(1)),
             try tx.registeredClientKey(field: Sample.field, address: Sample.identity(1).address),
             try tx.keyStanding(of: Sample.identity(1)), try tx.isAwaitingKey(thread), try tx.isAwaitingKey(knownThread),
             try tx.openThread(thread).clientKey, try tx.replyBasis(thread).clientKey,
             try tx.openInboxThread(thread).clientKey)
        }
        #expect(found.0 == knownThread && found.1 == Sample.identity(1).key && found.2 == .registered)
        #expect(found.3 && !found.4)
        #expect(found.5 == nil && found.6 == nil && found.7 == nil)
        fixture.cleanUp()
    }

    @Test func theAwaitedKeyJoinsTheAddressHistoryWhenItArrives() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let address = "client1@example.org"
        let early = try await store.write {
            try $0.importMessage(Sample.message("a", at: fixture.clock.now), into: .awaitingKey(awaiting(address)))
        }
        let thread = try #require(early.storedThread)
        fixture.clock.advance(days: 1)
        // Meanwhile the address registers another key.
        let other = Sample.identity(2, address: address)
        _ = try await store.write { try $0.importMessage(Sample.message("b", at: fixture.clock.now), into: .client(other)) }
        fixture.clock.advance(days: 1)
        let awaited = ClientIdentity(field: Sample.field, key: try ClientKeyFingerprint(Self.signer.hex),
                                     address: try ClientAddress(address))
        #expect(try await store.write { try $0.giveAwaitedKey(Sample.identity(9, address: address)) } == nil)
        #expect(try await store.write { try $0.giveAwaitedKey(awaited) } == thread)
        #expect(try await store.write { try $0.giveAwaitedKey(awaited) } == nil)  // only once
        let state = try await store.read { tx in
            (try tx.isAwaitingKey(thread), try tx.findThread(client: awaited), try tx.openThread(thread).clientKey,
             try tx.keyStanding(of: awaited), try tx.keyStanding(of: other))
        }
        #expect(!state.0 && state.1 == thread && state.2 == awaited.key)
        // It came later than the key registered meanwhile: a change to confirm, not the registration.
        #expect(state.3 == .unconfirmedChange && state.4 == .registered)
    }

    @Test func heldRepliesAreMarkedListedReleasedOnceAndDieWithTheThread() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let now = fixture.clock.now
        let thread = try #require(try await store.write {
            try $0.importMessage(Sample.message("in", at: now), into: .client(Sample.identity(1)))
        }.storedThread)
        var stored: [StoredMessageID] = []
        for index in 1...2 {
            let outcome = try await store.write { tx in
                try tx.importMessage(
                    Sample.message("out\(index)", body: "Antwort \(index)", at: now.addingTimeInterval(Double(index)),
                                   direction: .outbound), into: .thread(thread))
            }
            let reply = try #require(outcome.storedMessage)
            try await store.write { try $0.holdReply(reply, in: thread, problem: .expired) }
            stored.append(reply)
        }
        let replies = stored
        // An inbound message cannot be held.
        await #expect(throws: ThreadStoreError.messageNotFound) {
            try await store.write { tx in
                guard let inbound = try tx.importMessage(Sample.message("in2", at: now), into: .thread(thread))
                    .storedMessage else { return }
                try tx.holdReply(inbound, in: thread, problem: .missing)
            }
        }
        let held = try await store.read { try $0.heldReplies(in: thread) }
        #expect(held.map(\.message) == replies)
        #expect(held.map { String(decoding: $0.body, as: UTF8.self) } == ["Antwort 1", "Antwort 2"])
        #expect(held.allSatisfy { $0.problem == .expired && $0.messageID.hasPrefix("<out") })
        #expect(try await store.read { try $0.openInboxThread(thread).heldReplies } == replies)

        let item = NewOutboxItem(thread: thread, kind: .counsellorReply, recipient: try ClientAddress("client1@example.org"),
                                 payload: Array("encrypted".utf8), notBefore: now)
        #expect(try await store.write { try $0.releaseHeldReply(replies[0], as: item) })
        #expect(try await store.write { try $0.releaseHeldReply(replies[0], as: item) } == false)
        #expect(try await store.read { try $0.heldReplyIDs(in: thread) } == [replies[1]])
        #expect(try await store.read { try $0.dueOutboxItems(now: now) }.filter { $0.kind == .counsellorReply }.count == 1)

        try await store.deleteThread(thread)
        #expect(try await store.read { try $0.heldReplyIDs(in: thread) }.isEmpty)
    }

    @Test func heldReplyProblemsKeepTheirStoredNumbers() {
        #expect(HeldReplyProblem.allCases.map(\.rawValue) == [1, 2, 3, 4])
        #expect([AuditEvent.replyHeld, .heldReplyReleased, .clientKeyRequested, .threadKeyReceived].map(\.rawValue)
                == [38, 39, 40, 41])
    }
}
