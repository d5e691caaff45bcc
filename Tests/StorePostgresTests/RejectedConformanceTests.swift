import Foundation
import Testing
import ThreadStore

@testable import StorePostgres

/// The rejected encrypted messages kept sealed (``RejectedMessageStore``, `mailbridge spool … --rejected`) on
/// SQLite (``ThreadStoreRejectedMessages``) and on PostgreSQL (``PostgresThreads``, also under the gateway's role),
/// with the same answers (issue 21): the list (oldest first, no content), each message opened back byte for byte
/// with its envelope, deletion audited as re-injected or deleted, a missing ID answered alike, and a sealed column
/// moved to another row refused.
@Suite struct RejectedConformanceTests {
    static let engines = SeamEngineUnderTest.engines
    let t0 = ImportEngines.start

    /// Three messages: Q2 rejected first, Q1 and Q3 one second later (same time: by ID). Bytes that are not UTF-8,
    /// NUL, CR LF and a lone CR, so nothing is normalised on the way.
    var kept: [RejectedMessage] {
        [
            RejectedMessage(id: "Q1", reason: 4, rejectedAt: t0.addingTimeInterval(1),
                            envelope: Data(#"{"from":"a@example.org"}"#.utf8),
                            message: Data("Subject: eins\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n".utf8)
                                + Data([0, 0xFF, 0x0D])),
            RejectedMessage(id: "Q2", reason: 17, rejectedAt: t0, envelope: Data([0x7B, 0x00, 0xC3, 0x28, 0x7D]),
                            message: Data((0...255).map { UInt8($0) })),
            RejectedMessage(id: "Q3", reason: 1000, rejectedAt: t0.addingTimeInterval(1), envelope: Data(),
                            message: Data("x".utf8)),
        ]
    }

    @Test(arguments: engines)
    func listOpenAndDeleteAnswerAlike(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let rejected = engine.rejected
        #expect(try await rejected.listRejected(limit: 100).isEmpty, "\(name)")
        for message in kept { #expect(try await engine.importer.keepRejected(message), "\(name)") }

        // The list: oldest first (then by ID), clear columns only.
        let entries = kept.map { RejectedEntry(id: $0.id, reason: $0.reason, rejectedAt: $0.rejectedAt,
                                               size: $0.message.count) }
        let listed = try await rejected.listRejected(limit: 100)
        #expect(listed == [entries[1], entries[0], entries[2]], "\(name): \(listed)")
        #expect(Mirror(reflecting: entries[0]).children.map(\.label) == ["id", "reason", "rejectedAt", "size"])
        #expect(try await rejected.listRejected(limit: 2) == [entries[1], entries[0]], "\(name)")
        #expect(try await rejected.listRejected(limit: 0).isEmpty, "\(name)")
        #expect(try await rejected.listRejected(limit: -1).isEmpty, "\(name)")

        // Opened: the exact bytes and envelope, reason and time.
        for message in kept {
            let opened = try #require(try await rejected.openRejected(message.id), "\(name): \(message.id)")
            #expect(opened.id == message.id && opened.reason == message.reason, "\(name)")
            #expect(opened.rejectedAt == message.rejectedAt, "\(name)")
            #expect(opened.envelope == message.envelope && opened.message == message.message, "\(name): \(message.id)")
        }

        // A missing ID: nil to open, false to delete, nothing audited.
        #expect(try await rejected.openRejected("Q9") == nil, "\(name)")
        #expect(try await rejected.openRejected("") == nil, "\(name)")
        #expect(try await !rejected.deleteRejected("Q9", reinjected: false), "\(name)")
        #expect(try await engine.audit.latestAuditEntries(AuditFilter(), limit: 100).isEmpty, "\(name)")

        // Deleted: re-injected (Q2) and on an administrator's order (Q1); each once, each audited.
        engine.clock.advance(by: 60)
        #expect(try await rejected.deleteRejected("Q2", reinjected: true), "\(name)")
        engine.clock.advance(by: 60)
        #expect(try await rejected.deleteRejected("Q1", reinjected: false), "\(name)")
        #expect(try await !rejected.deleteRejected("Q1", reinjected: false), "\(name)")
        #expect(try await !rejected.deleteRejected("Q2", reinjected: true), "\(name)")
        #expect(try await rejected.openRejected("Q1") == nil, "\(name)")
        #expect(try await rejected.openRejected("Q2") == nil, "\(name)")
        #expect(try await rejected.listRejected(limit: 100) == [entries[2]], "\(name)")
        let audit = try await engine.audit.latestAuditEntries(AuditFilter(), limit: 100)
        #expect(audit.map { "\($0.event) \($0.itemID ?? "-") +\(Int($0.at.timeIntervalSince(t0)))" } == [
            "rejectedMessageReinjected Q2 +60", "rejectedMessageDeleted Q1 +120",
        ], "\(name): \(audit)")
        #expect(audit.allSatisfy { $0.thread == nil && $0.actor == nil && $0.count == nil }, "\(name)")
    }

    @Test(arguments: engines)
    func aSealedColumnMovedToAnotherRowDoesNotOpen(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        for message in kept { #expect(try await engine.importer.keepRejected(message), "\(name)") }
        for column in ["sealed_message", "sealed_envelope"] {
            _ = try engine.sql("""
                UPDATE rejected_message SET \(column) = (SELECT \(column) FROM rejected_message WHERE id = 'Q3')
                WHERE id = 'Q\(column == "sealed_message" ? 1 : 2)'
                """)
        }
        await #expect(throws: ThreadStoreError.unsealingFailed, "\(name)") {
            try await engine.rejected.openRejected("Q1")
        }
        await #expect(throws: ThreadStoreError.unsealingFailed, "\(name)") {
            try await engine.rejected.openRejected("Q2")
        }
        #expect(try await engine.rejected.openRejected("Q3")?.message == Data("x".utf8), "\(name)")
        // The list reads clear columns only: it still lists all three.
        #expect(try await engine.rejected.listRejected(limit: 100).map(\.id) == ["Q2", "Q1", "Q3"], "\(name)")
    }
}
