import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The same import scenarios against ThreadStore on SQLite (``ThreadStoreImport``) and ``PostgresThreads`` on a
/// real PostgreSQL (issue 21): both engines must give the same outcomes, the same errors and the same content back.
@Suite struct ImportConformanceTests {
    static let engines = ["sqlite", "postgresql"]
    let t0 = ImportEngines.start

    @Test(arguments: engines)
    func aNewClientGetsAThreadAndItsSecondMessageJoinsIt(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(1)
        let signer = MessageSigner(fingerprint: client.key, userID: "Klientin <client1@example.org>")
        let first = try await store.importMessage(
            ImportEngines.message("m1", subject: "Erste Nachricht", body: "Guten Tag\r\n", signer: signer,
                                  verdict: .valid),
            into: .client(client))
        guard case .stored(let thread, let firstID, createdThread: true) = first else {
            Issue.record("\(name): \(first)")
            return
        }
        let attachment = NewAttachment(name: "brief.pdf", mediaType: "application/pdf", content: [0, 1, 2, 255])
        let second = try await store.importMessage(
            ImportEngines.message("m2", subject: "Zweite", body: "Noch etwas", at: t0.addingTimeInterval(60),
                                  attachments: [attachment]),
            into: .client(client))
        guard case .stored(thread, let secondID, createdThread: false) = second else {
            Issue.record("\(name): \(second)")
            return
        }
        // Another client gets a thread of its own.
        let other = try await store.importMessage(ImportEngines.message("m3"), into: .client(ImportEngines.identity(2)))
        #expect(other.storedThread != nil && other.storedThread != thread)

        let content = try await store.threadContent(thread)
        #expect(content.field == ImportEngines.field && content.state == .open && !content.isAwaitingKey)
        #expect(content.clientKey == client.key && content.clientAddress == client.address)
        #expect(content.messages.map(\.id) == [firstID, secondID])
        let (one, two) = (content.messages[0], content.messages[1])
        #expect(one.messageID == "<m1@example.org>" && one.subject == "Erste Nachricht")
        #expect(one.body == Array("Guten Tag\r\n".utf8) && one.attachments.isEmpty)
        #expect(one.verdict == .valid && one.signer == signer && one.direction == .inbound && !one.isRead)
        #expect(one.receivedAt == t0)
        #expect(two.subject == "Zweite" && two.body == Array("Noch etwas".utf8) && two.signer == nil)
        #expect(two.attachments.map(\.name) == ["brief.pdf"] && two.attachments[0].content == [0, 1, 2, 255])
        #expect(two.attachments[0].mediaType == "application/pdf" && two.receivedAt == t0.addingTimeInterval(60))
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await store.threadContent(try ThreadID(String(repeating: "0", count: 32)))
        }
    }

    @Test(arguments: engines)
    func theSameMessageIsStoredOnce(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(1)
        let stored = try await store.importMessage(ImportEngines.message("m1"), into: .client(client),
                                                   queueing: [ImportEngines.outboxItem()])
        guard case .stored(let thread, let id, _) = stored else {
            Issue.record("\(name): \(stored)")
            return
        }
        // Again (into the client, and into the thread by ID): a duplicate, and nothing more is queued.
        #expect(try await store.importMessage(ImportEngines.message("m1"), into: .client(client),
                                              queueing: [ImportEngines.outboxItem()]) == .duplicate(thread, id))
        #expect(try await store.importMessage(ImportEngines.message("m1"), into: .thread(thread)) ==
            .duplicate(thread, id))
        // The same Message-ID with other content is another message.
        let changed = try await store.importMessage(ImportEngines.message("m1", body: "Anders"), into: .thread(thread))
        #expect(changed.storedThread == thread)
        let content = try await store.threadContent(thread)
        #expect(content.messages.count == 2 && content.queuedOutboxItems == 1)
    }

    @Test(arguments: engines)
    func aReplayedPayloadIsRejectedInEveryThread(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let fingerprint = store.replayFingerprint(.sessionKey, Array("session key 1".utf8))
        let unrelated = store.replayFingerprint(.sessionKey, Array("session key 2".utf8))
        #expect(try await store.replaySeenBefore(fingerprint) == false)
        let first = try await store.importMessage(ImportEngines.message("m1", fingerprints: [fingerprint]),
                                                  into: .client(ImportEngines.identity(1)))
        #expect(first.storedThread != nil)
        #expect(try await store.replaySeenBefore(fingerprint))
        #expect(try await store.replaySeenBefore(unrelated) == false)
        // Another Message-ID, another client, the same meaning: a replay; no thread is made for client 2.
        let replayed = try await store.importMessage(
            ImportEngines.message("m2", fingerprints: [unrelated, fingerprint]),
            into: .client(ImportEngines.identity(2)), queueing: [ImportEngines.outboxItem()])
        #expect(replayed == .replayedCiphertext)
        #expect(try await store.replaySeenBefore(unrelated) == false)
        let fresh = try await store.importMessage(ImportEngines.message("m3"), into: .client(ImportEngines.identity(2)))
        guard case .stored(_, _, createdThread: true) = fresh else {
            Issue.record("\(name): \(fresh)")
            return
        }
    }

    /// A provisional fingerprint lets exactly one final copy through; a second provisional copy is a replay.
    @Test(arguments: engines)
    func aProvisionalFingerprintLetsOneFinalCopyThrough(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let fingerprint = store.replayFingerprint(.content, Array("signature and text".utf8))
        let moved = try await store.importMessage(
            ImportEngines.message("copy", fingerprints: [fingerprint], provisional: true),
            into: .client(ImportEngines.identity(1)))
        #expect(moved.storedThread != nil)
        #expect(try await store.importMessage(
            ImportEngines.message("copy2", fingerprints: [fingerprint], provisional: true),
            into: .client(ImportEngines.identity(3))) == .replayedCiphertext)
        let own = try await store.importMessage(ImportEngines.message("own", fingerprints: [fingerprint]),
                                                into: .client(ImportEngines.identity(2)))
        #expect(own.storedThread != nil && own.storedThread != moved.storedThread)
        // Now final: no further copy, provisional or not.
        for (index, provisional) in [false, true].enumerated() {
            #expect(try await store.importMessage(
                ImportEngines.message("again\(index)", fingerprints: [fingerprint], provisional: provisional),
                into: .client(ImportEngines.identity(4))) == .replayedCiphertext)
        }
    }

    @Test(arguments: engines)
    func mailWithoutKeyGoesToAThreadWithoutKey(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let signer = try AwaitedSignerID(String(format: "%040X", 7))
        let client = AwaitingKeyClient(field: ImportEngines.field, address: try ClientAddress("client1@example.org"),
                                       signer: signer)
        let first = try await store.importMessage(ImportEngines.message("a", verdict: .missingKey),
                                                  into: .awaitingKey(client))
        guard case .stored(let thread, _, createdThread: true) = first else {
            Issue.record("\(name): \(first)")
            return
        }
        let second = try await store.importMessage(ImportEngines.message("b", verdict: .missingKey),
                                                   into: .awaitingKey(client))
        guard case .stored(thread, _, createdThread: false) = second else {
            Issue.record("\(name): \(second)")
            return
        }
        // Unsigned mail from the same address, and mail with a key from it: threads of their own.
        let unsigned = AwaitingKeyClient(field: client.field, address: client.address, signer: nil)
        let other = try await store.importMessage(ImportEngines.message("c"), into: .awaitingKey(unsigned))
        let keyed = try await store.importMessage(
            ImportEngines.message("d"), into: .client(ImportEngines.identity(7, address: "client1@example.org")))
        #expect(Set([thread, other.storedThread, keyed.storedThread].compactMap { $0 }).count == 3)

        let content = try await store.threadContent(thread)
        #expect(content.isAwaitingKey && content.clientKey == nil && content.clientAddress == client.address)
        #expect(content.messages.map(\.subject) == ["Betreff", "Betreff"])
        #expect(content.messages.map(\.verdict) == [.missingKey, .missingKey])
        let keyedContent = try await store.threadContent(try #require(keyed.storedThread))
        #expect(!keyedContent.isAwaitingKey && keyedContent.clientKey != nil)
    }

    /// A closed thread is not the client's thread any more (a new message starts another), but a reply into it by
    /// ID reopens it.
    @Test(arguments: engines)
    func aReplyIntoAClosedThreadReopensIt(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(1)
        let closed = try #require(try await store.importMessage(ImportEngines.message("m1"), into: .client(client))
            .storedThread)
        try await engine.close(closed)
        #expect(try await store.threadContent(closed).state == .closed)
        let fresh = try await store.importMessage(ImportEngines.message("m2"), into: .client(client))
        guard case .stored(let other, _, createdThread: true) = fresh, other != closed else {
            Issue.record("\(name): \(fresh)")
            return
        }
        let reply = try await store.importMessage(ImportEngines.message("m3", at: t0.addingTimeInterval(60)),
                                                  into: .thread(closed))
        #expect(reply.storedThread == closed)
        let content = try await store.threadContent(closed)
        #expect(content.state == .open && content.messages.count == 2)
    }

    /// Every limit gives the same error on both engines, and a failed import leaves nothing behind.
    @Test(arguments: engines)
    func limitsGiveTheSameErrors(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let client = ImportEngines.identity(1)
        let limits = ImportEngines.configuration
        let tooLarge: [NewMessage] = [
            ImportEngines.message("body", body: String(repeating: "x", count: limits.maximumBodyBytes + 1)),
            ImportEngines.message("subject", subject: String(repeating: "s", count: limits.maximumSubjectBytes + 1)),
            ImportEngines.message("many", attachments: Array(
                repeating: NewAttachment(name: "a", mediaType: "text/plain", content: [1]),
                count: limits.maximumAttachments + 1)),
            ImportEngines.message("big", attachments: [NewAttachment(
                name: "a", mediaType: "text/plain",
                content: Array(repeating: 1, count: limits.maximumAttachmentBytes + 1))]),
            ImportEngines.message(String(repeating: "i", count: limits.maximumMessageIDBytes)),
        ]
        for message in tooLarge {
            await #expect(throws: ThreadStoreError.limitExceeded, "\(name)") {
                try await store.importMessage(message, into: .client(client))
            }
        }
        var empty = ImportEngines.message("x")
        empty.messageID = ""
        await #expect(throws: ThreadStoreError.invalidValue, "\(name)") {
            try await store.importMessage(empty, into: .client(client))
        }
        let unknown = try ThreadID(String(repeating: "a", count: 32))
        await #expect(throws: ThreadStoreError.threadNotFound, "\(name)") {
            try await store.importMessage(ImportEngines.message("m"), into: .thread(unknown))
        }
        // An outbox item over its limit rolls the whole import back: the message is not stored and, imported again
        // without it, creates the thread.
        let fingerprint = store.replayFingerprint(.sessionKey, Array("rolled back".utf8))
        await #expect(throws: ThreadStoreError.limitExceeded, "\(name)") {
            try await store.importMessage(
                ImportEngines.message("m", fingerprints: [fingerprint]), into: .client(client),
                queueing: [ImportEngines.outboxItem(payload: limits.maximumOutboxPayloadBytes + 1)])
        }
        #expect(try await store.replaySeenBefore(fingerprint) == false)
        let stored = try await store.importMessage(ImportEngines.message("m", fingerprints: [fingerprint]),
                                                   into: .client(client))
        guard case .stored(let thread, _, createdThread: true) = stored else {
            Issue.record("\(name): \(stored)")
            return
        }
        #expect(try await store.threadContent(thread).queuedOutboxItems == 0)
    }

    /// A body and an attachment of 1 MiB or more (sealed in pieces on both engines) round-trip.
    @Test(arguments: engines)
    func largeValuesRoundTrip(engine name: String) async throws {
        var limits = ImportEngines.configuration
        limits.maximumBodyBytes = 3 << 20
        limits.maximumAttachmentBytes = 3 << 20
        let engine = try await ImportEngines.engine(name, configuration: limits)
        let store = engine.store
        var generator = SystemRandomNumberGenerator()
        let body = (0..<((1 << 20) + 4097)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let content = (0..<(2 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var message = ImportEngines.message("large", attachments: [
            NewAttachment(name: "scan.pdf", mediaType: "application/pdf", content: content),
            NewAttachment(name: "small.txt", mediaType: "text/plain", content: [1, 2, 3]),
        ])
        message.body = body
        let stored = try await store.importMessage(message, into: .client(ImportEngines.identity(1)))
        guard case .stored(let thread, let id, _) = stored else {
            Issue.record("\(name): \(stored)")
            return
        }
        #expect(try await store.importMessage(message, into: .thread(thread)) == .duplicate(thread, id))
        let opened = try #require(try await store.threadContent(thread).messages.first)
        #expect(opened.body == body)
        #expect(opened.attachments.map(\.content) == [content, [1, 2, 3]])
        if let nodes = engine.keepAlive as? PostgresImportNodes {
            // The format byte: 2 (in pieces) for the large values, 1 for the small attachment, as on SQLite.
            let formats = try nodes.psql("""
                SELECT get_byte(body_sealed, 0) FROM message
                UNION ALL (SELECT get_byte(content_sealed, 0) FROM attachment ORDER BY position)
                """).split(separator: "\n")
            #expect(formats == ["2", "2", "1"])
        }
    }

    /// What is queued with an import is bound to the new thread and commits with it.
    @Test(arguments: engines)
    func outboxItemsAreQueuedInTheImportTransaction(engine name: String) async throws {
        let engine = try await ImportEngines.engine(name)
        let store = engine.store
        let stored = try await store.importMessage(
            ImportEngines.message("m1"), into: .client(ImportEngines.identity(1)),
            queueing: [ImportEngines.outboxItem(), ImportEngines.outboxItem(payload: 10)])
        let thread = try #require(stored.storedThread)
        #expect(try await store.threadContent(thread).queuedOutboxItems == 2)
    }
}
