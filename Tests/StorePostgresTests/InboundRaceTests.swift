import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The pipeline's inbound steps raced: six at once across two nodes on one PostgreSQL (each its own pool), and the
/// same six at once on one SQLite store. `SERIALIZABLE` and its run-again must make PostgreSQL come out as SQLite's
/// single writer does (issue 21).
@Suite struct InboundRaceTests {
    static let engines = ["sqlite", "postgresql"]
    static let copies = 6
    let t0 = ImportEngines.start

    /// Runs `step` `copies` times at once, alternating the nodes.
    static func race<T: Sendable>(_ engine: InboundEngineUnderTest,
                                  _ step: @escaping @Sendable (any InboundStore, Int) async throws -> T) async throws
        -> [T]
    {
        try await withThrowingTaskGroup(of: T.self) { group in
            for copy in 0..<copies {
                let node = engine.nodes[copy % engine.nodes.count]
                group.addTask { try await step(node, copy) }
            }
            var results: [T] = []
            for try await result in group { results.append(result) }
            return results
        }
    }

    static func count(_ event: AuditEvent, _ count: Int? = nil, in rows: [String]) -> Int {
        rows.filter { $0.hasPrefix("\(event.rawValue)/\(count.map(String.init) ?? "")") }.count
    }

    @Test(arguments: engines)
    func theSameFirstMessageRacedIsStoredOnceWithOneNoticeAndOneReceipt(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name, nodes: 2)
        for number in 1...3 {
            let client = ImportEngines.identity(number)
            let results = try await Self.race(engine) { store, _ in
                try await store.importFromClient(InboundEngines.fromClient(ImportEngines.message("m\(number)"), client))
            }
            let stored = results.filter { $0.outcome.storedThread != nil }
            #expect(stored.count == 1, "\(name): \(results)")
            let thread = try #require(stored.first?.outcome.storedThread)
            #expect(results.allSatisfy {
                if case .duplicate(thread, _) = $0.outcome { return !$0.queued }
                return $0.receiptQueued && $0.queued
            })
            let content = try await engine.store.threadContent(thread)
            #expect(content.messages.count == 1 && content.queuedOutboxItems == 1)
        }
        let audit = try await engine.audit()
        #expect(Self.count(.threadCreated, in: audit) == 3 && Self.count(.messageStored, in: audit) == 3)
        #expect(Self.count(.receiptQueued, in: audit) == 3)
        #expect(Self.count(.outboxQueued, OutboxKind.notification.rawValue, in: audit) == 3)
        #expect(Self.count(.duplicateIgnored, in: audit) == 3 * (Self.copies - 1))
    }

    @Test(arguments: engines)
    func differentMessagesRacedShareOneThreadReceiptAndKeyRequest(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name, nodes: 2)
        let t0 = self.t0
        // Six different first messages of one new client: one thread, six notices, one receipt.
        let client = ImportEngines.identity(1)
        let keyed = try await Self.race(engine) { store, copy in
            try await store.importFromClient(InboundEngines.fromClient(
                ImportEngines.message("k\(copy)", at: t0.addingTimeInterval(Double(copy))), client))
        }
        #expect(Set(keyed.compactMap(\.outcome.storedThread)).count == 1 && keyed.allSatisfy { $0.verdict == .valid })
        #expect(keyed.filter(\.receiptQueued).count == 1)
        // Six different messages without key of one sender: one thread without key, one key request.
        let awaiting = AwaitingKeyClient(field: ImportEngines.field, address: try ClientAddress("ohne@example.org"),
                                         signer: nil)
        let key = engine.store.keyRequestHMAC(canonicalAddress: "ohne@example.org")
        let unkeyed = try await Self.race(engine) { store, copy in
            try await store.importAwaitingKey(AwaitingKeyMessageImport(
                message: ImportEngines.message("w\(copy)", body: "Text \(copy)"), client: awaiting,
                notice: InboundEngines.notice(each: false),
                keyRequest: KeyRequestPlan(item: InboundEngines.item(.notification, to: "ohne@example.org"),
                                           key: key, time: t0, period: 86_400)))
        }
        #expect(Set(unkeyed.compactMap(\.outcome.storedThread)).count == 1 && unkeyed.count == Self.copies)
        #expect(unkeyed.filter(\.keyRequestQueued).count == 1)
        #expect(try await engine.noticeCounts() == ["0/beratung/beratung/1/\(Self.copies)"])
        // One sender's redirect raced: exactly one queued.
        let sender = engine.store.senderHMAC(canonicalAddress: "anna@example.org")
        let redirects = try await Self.race(engine) { store, _ in
            try await store.queueRedirect(InboundEngines.item(), sender: sender, now: t0, period: 3600)
        }
        #expect(redirects.filter { $0 }.count == 1)
        let audit = try await engine.audit()
        #expect(Self.count(.threadCreated, in: audit) == 2 && Self.count(.clientKeyRequested, in: audit) == 1)
        #expect(Self.count(.inboundRedirected, in: audit) == 1)
        #expect(Self.count(.inboundRedirectSuppressed, 2, in: audit) == Self.copies - 1)
    }

    @Test(arguments: engines)
    func theAwaitedKeyRacedIsGivenOnce(engine name: String) async throws {
        let engine = try await InboundEngines.engine(name, nodes: 2)
        let client = ImportEngines.identity(7, address: "spaet@example.org")
        let awaiting = AwaitingKeyClient(field: ImportEngines.field, address: client.address,
                                         signer: try AwaitedSignerID(String(client.key.hex.suffix(16))))
        let waiting = try await engine.store.importAwaitingKey(AwaitingKeyMessageImport(
            message: ImportEngines.message("w1", verdict: .missingKey), client: awaiting,
            notice: InboundEngines.notice(), keyRequest: nil))
        let thread = try #require(waiting.outcome.storedThread)
        let t0 = self.t0
        let results = try await Self.race(engine) { store, copy in
            try await store.importFromClient(InboundEngines.fromClient(
                ImportEngines.message("k\(copy)", at: t0.addingTimeInterval(Double(copy + 1))), client,
                givesAwaitedKey: true))
        }
        #expect(results.allSatisfy { $0.outcome.storedThread == thread && $0.verdict == .valid })
        #expect(results.filter(\.receiptQueued).count == 1)
        let content = try await engine.store.threadContent(thread)
        #expect(!content.isAwaitingKey && content.clientKey == client.key && content.messages.count == Self.copies + 1)
        #expect(Self.count(.threadKeyReceived, in: try await engine.audit()) == 1)
    }
}
