import Foundation
import Testing
import ThreadStore

@testable import StorePostgres

/// The inbound import with two gateway nodes on one real PostgreSQL (issue 21): the same message, the same replay
/// fingerprint and two first messages of a new client raced across nodes are stored exactly once and in one
/// thread; the database holds neither the words nor the client's address.
@Suite struct PostgresImportNodeTests {
    let t0 = ImportEngines.start

    /// Imports `make(request)` six times at once, three on each node; returns the outcomes.
    private func race(
        _ nodes: PostgresImportNodes, _ make: @escaping @Sendable (Int) -> (NewMessage, ImportDestination)
    ) async throws -> [ImportOutcome]
    {
        try await withThrowingTaskGroup(of: ImportOutcome.self) { group in
            for request in 0..<6 {
                let threads = nodes.threads[request % 2]
                let (message, destination) = make(request)
                group.addTask { try await threads.importMessage(message, into: destination) }
            }
            var outcomes: [ImportOutcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    /// Each of ten messages (the first of a new client each time) is imported six times at once on two nodes:
    /// stored once, five duplicates of that very row, one thread per client; then the client's next message, into
    /// the thread that exists, the same way.
    @Test func theSameMessageFromTwoNodesIsStoredOnce() async throws {
        let nodes = try await ImportEngines.postgres(nodes: 2)
        for number in 1...10 {
            let client = ImportEngines.identity(number)
            let outcomes = try await race(nodes) { _ in (ImportEngines.message("m\(number)"), .client(client)) }
            let stored = outcomes.compactMap { outcome -> (ThreadID, StoredMessageID)? in
                if case .stored(let thread, let id, createdThread: true) = outcome { return (thread, id) }
                return nil
            }
            try #require(stored.count == 1, "message \(number): \(outcomes)")
            let (thread, id) = stored[0]
            #expect(outcomes.filter { $0 == .duplicate(thread, id) }.count == 5, "message \(number)")
            // The next message into the thread that now exists: the unique key decides.
            let next = try await race(nodes) { _ in (ImportEngines.message("n\(number)"), .client(client)) }
            let nextStored = next.compactMap { outcome -> StoredMessageID? in
                if case .stored(thread, let id, createdThread: false) = outcome { return id }
                return nil
            }
            try #require(nextStored.count == 1, "next message \(number): \(next)")
            #expect(next.filter { $0 == .duplicate(thread, nextStored[0]) }.count == 5, "next message \(number)")
            #expect(try await nodes.threads[number % 2].threadContent(thread).messages.count == 2)
        }
        #expect(try nodes.psql("SELECT count(*) FROM thread").trimmingCharacters(in: .whitespacesAndNewlines) == "10")
        #expect(try nodes.psql("SELECT count(*) FROM message").trimmingCharacters(in: .whitespacesAndNewlines) == "20")
    }

    /// Six different messages of a new client, three on each node at once: all six stored, in one thread.
    @Test func firstMessagesOfANewClientOnTwoNodesEndInOneThread() async throws {
        let nodes = try await ImportEngines.postgres(nodes: 2)
        for number in 1...10 {
            let client = ImportEngines.identity(number)
            let outcomes = try await race(nodes) { request in
                (ImportEngines.message("c\(number)-\(request)", body: "Nachricht \(request)"), .client(client))
            }
            let threads = Set(outcomes.compactMap(\.storedThread))
            #expect(outcomes.allSatisfy { $0.storedThread != nil }, "client \(number): \(outcomes)")
            #expect(threads.count == 1, "client \(number)")
            let created = outcomes.filter { if case .stored(_, _, createdThread: true) = $0 { true } else { false } }
            #expect(created.count == 1, "client \(number)")
            if let thread = threads.first {
                #expect(try await nodes.threads[0].threadContent(thread).messages.count == 6)
            }
        }
        #expect(try nodes.psql("SELECT count(*) FROM thread").trimmingCharacters(in: .whitespacesAndNewlines) == "10")
    }

    /// Six different messages (other Message-IDs, other clients) carrying the same replay fingerprint, raced on two
    /// nodes: exactly one is imported, five are replays.
    @Test func theSameReplayFingerprintFromTwoNodesIsImportedOnce() async throws {
        let nodes = try await ImportEngines.postgres(nodes: 2)
        for round in 1...10 {
            let fingerprint = nodes.threads[0].replayFingerprint(.sessionKey, Array("session key \(round)".utf8))
            let outcomes = try await race(nodes) { request in
                (ImportEngines.message("r\(round)-\(request)", fingerprints: [fingerprint]),
                 .client(ImportEngines.identity(round * 10 + request)))
            }
            #expect(outcomes.filter { $0.storedThread != nil }.count == 1, "round \(round): \(outcomes)")
            #expect(outcomes.filter { $0 == .replayedCiphertext }.count == 5, "round \(round)")
        }
        #expect(try nodes.psql("SELECT count(*) FROM message").trimmingCharacters(in: .whitespacesAndNewlines) == "10")
    }

    /// A message imported on one node opens on the other; no table holds its words, its Message-ID, its attachment
    /// or the client's address, in clear or as hex. The audit rows are the SQLite engine's.
    @Test func theTablesHoldNoWordsAndNoAddress() async throws {
        let nodes = try await ImportEngines.postgres(nodes: 2)
        let address = "canary-client-7f3a@example.org"
        let client = ImportEngines.identity(1, address: address)
        let canaries = ["CANARY-SUBJECT-51c2", "CANARY-BODY-0e9d", "CANARY-ATTACHMENT-NAME-77aa",
                        "CANARY-ATTACHMENT-CONTENT-4b1f", "canary-message-id-9d8c", address]
        let message = ImportEngines.message(
            canaries[4], subject: canaries[0], body: "Hallo \(canaries[1])\r\n",
            attachments: [NewAttachment(name: canaries[2], mediaType: "text/plain", content: Array(canaries[3].utf8))])
        var receipt = ImportEngines.outboxItem()
        receipt.recipient = try ClientAddress(address)
        let stored = try await nodes.threads[0].importMessage(message, into: .client(client), queueing: [receipt])
        let thread = try #require(stored.storedThread)
        let content = try await nodes.threads[1].threadContent(thread)
        #expect(content.clientAddress == client.address && content.messages.first?.subject == canaries[0])
        #expect(content.messages.first?.attachments.first?.content == Array(canaries[3].utf8))

        let rows = try nodes.dumpAllTables()
        #expect(rows.contains(thread.unredactedDescription))
        for canary in canaries {
            #expect(!rows.lowercased().contains(canary.lowercased()), "\(canary)")
            #expect(!rows.lowercased().contains(Data(canary.utf8).map { String(format: "%02x", $0) }.joined()),
                    "\(canary) as hex")
        }
        // The keyed columns are StoreSecrets' values, which the SQLite import stores too.
        let secrets = StoreSecrets(masterKey: nodes.masterKey)
        let index = try secrets.importIndex(message, limits: ImportEngines.configuration)
        let lookup = secrets.lookup(client)
        func hex(_ data: Data) -> String { "\\x" + data.map { String(format: "%02x", $0) }.joined() }
        #expect(try nodes.psql("SELECT message_id_hmac::text || ' ' || content_hmac::text FROM message")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "\(hex(index.messageIDHMAC)) \(hex(index.contentHMAC))")
        #expect(try nodes.psql("SELECT client_key_hmac::text || ' ' || client_address_hmac::text FROM thread")
            .trimmingCharacters(in: .whitespacesAndNewlines)
            == "\(hex(lookup.clientKeyHMAC)) \(hex(try #require(lookup.clientAddressHMAC)))")
        // The audit trail of an import with a queued item, in the SQLite engine's stored codes.
        let events = try nodes.psql("SELECT event FROM audit ORDER BY id").split(separator: "\n").map(String.init)
        #expect(events == [AuditEvent.threadCreated, .messageStored, .outboxQueued].map { String($0.rawValue) })
    }

    /// Rows written with one master key do not open with another, and a database keeps its master key.
    @Test func anotherMasterKeyIsRefused() async throws {
        let nodes = try await ImportEngines.postgres(nodes: 1)
        _ = try await nodes.threads[0].importMessage(ImportEngines.message("m"),
                                                     into: .client(ImportEngines.identity(1)))
        await #expect(throws: ThreadStoreError.wrongMasterKey) {
            _ = try await PostgresThreads.open(nodes.pools[0].database, masterKey: .generate(),
                                               logger: PostgresTesting.logger)
        }
    }
}
