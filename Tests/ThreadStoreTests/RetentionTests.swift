import Foundation
import GRDB
import Testing
@testable import ThreadStore

@Suite struct RetentionTests {
    @Test func threadsExpirePerFieldAfterLastActivity() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let start = fixture.clock.now
        func importAt(_ tag: String, _ identity: ClientIdentity, _ date: Date) async throws -> ThreadID {
            try #require(
                try await store.write { tx in
                    try tx.importMessage(Sample.message(tag, at: date), into: .client(identity))
                }.storedThread
            )
        }
        let shortLived = try await importAt("a", Sample.identity(1, field: Sample.field), start)
        let active = try await importAt("b", Sample.identity(2, field: Sample.field), start)
        _ = try await importAt("b2", Sample.identity(2, field: Sample.field), start.addingTimeInterval(20 * 86_400))
        let longLived = try await importAt("c", Sample.identity(3, field: Sample.otherField), start)
        let defaultField = try await importAt("d", Sample.identity(4, field: try CounsellingField("allgemein")), start)
        try await store.write { tx in
            _ = try tx.shouldSendRedirect(
                to: store.senderHMAC(canonicalAddress: "x@example.org"),
                now: start,
                period: 3600
            )
        }

        let policy = RetentionPolicy(
            defaultDays: 60,
            days: [Sample.field: 30, Sample.otherField: 90],
            seenCiphertextDays: 365,
            rateLimitDays: 7
        )

        // Day 29: nothing is due.
        var report = try await store.applyRetention(policy: policy, now: start.addingTimeInterval(29 * 86_400))
        #expect(report.deletedThreads == 0)
        #expect(report.forgottenRateLimits == 1)  // rate-limit memory is 7 days

        // Day 31: the 30-day field's idle thread goes; the one with activity on day 20 stays.
        report = try await store.applyRetention(policy: policy, now: start.addingTimeInterval(31 * 86_400))
        #expect(report.deletedThreads == 1)
        #expect(try await store.read { tx in try tx.thread(shortLived) } == nil)
        #expect(try await store.read { tx in try tx.thread(active) } != nil)

        // Day 61: default field (60 days) and the active thread (20 + 30 < 61) go; the 90-day field stays.
        report = try await store.applyRetention(policy: policy, now: start.addingTimeInterval(61 * 86_400))
        #expect(report.deletedThreads == 2)
        #expect(try await store.read { tx in try tx.thread(defaultField) } == nil)
        #expect(try await store.read { tx in try tx.thread(active) } == nil)
        #expect(try await store.read { tx in try tx.thread(longLived) } != nil)

        // Audit: one entry per deleted thread, naming only the thread.
        let audit = try await store.read { tx in try tx.auditEntries() }
        let deletions = audit.filter { $0.event == .threadDeletedByRetention }
        #expect(Set(deletions.compactMap(\.thread)) == [shortLived, active, defaultField])
        #expect(deletions.allSatisfy { $0.itemID == nil && $0.count == nil })
        #expect(audit.filter { $0.event == .retentionApplied }.count == 3)
        #expect(try await store.integrityCheck())
    }

    @Test func auditLogIsAppendOnlyOutsideRetention() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        _ = try await store.write { tx in
            try tx.importMessage(Sample.message("a", at: fixture.clock.now), into: .client(Sample.identity()))
        }
        await #expect(throws: ThreadStoreError.storageFailure) {
            try await store.write { tx in try tx.db.execute(sql: "UPDATE audit SET event = 99") }
        }
        await #expect(throws: ThreadStoreError.storageFailure) {
            try await store.write { tx in try tx.db.execute(sql: "DELETE FROM audit") }
        }
        let before = try await store.read { tx in try tx.auditEntries() }.count
        #expect(before >= 2)

        // Retention prunes entries older than auditDays, and leaves the gate closed.
        fixture.clock.advance(days: 800)
        let report = try await store.applyRetention(
            policy: RetentionPolicy(defaultDays: nil, auditDays: 730),
            now: fixture.clock.now
        )
        #expect(report.prunedAuditEntries == before)
        let gate = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT open FROM audit_prune_gate") }
        #expect(gate == 0)
        let after = try await store.read { tx in try tx.auditEntries() }
        #expect(after.map(\.event) == [.auditPruned, .retentionApplied])
    }

    @Test func replayHashesAreForgottenAfterTheirWindow() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let message = Sample.message("h", at: fixture.clock.now, ciphertext: "ct-h")
        _ = try await store.write { tx in try tx.importMessage(message, into: .client(Sample.identity())) }
        let report = try await store.applyRetention(
            policy: RetentionPolicy(defaultDays: nil, seenCiphertextDays: 10),
            now: fixture.clock.now.addingTimeInterval(11 * 86_400)
        )
        #expect(report.forgottenCiphertextHashes == 1)
        #expect(try await store.read { tx in try tx.replaySeenBefore(message.replayFingerprints[0]) } == false)
        #expect(report.deletedThreads == 0)
    }
}
