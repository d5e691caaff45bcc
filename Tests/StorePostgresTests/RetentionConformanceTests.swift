import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// Retention (``MaintenanceStore``) on SQLite and on PostgreSQL (also under the gateway's role, which may delete
/// audit entries only through `audit_prune`), with the same deletions and audit rows (issue 21).
@Suite struct RetentionConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start
    static let otherField = try! CounsellingField("schulden")
    let day: TimeInterval = 86_400

    func maintenance(_ engine: InboxEngineUnderTest) -> any MaintenanceStore {
        if let sqlite = engine.inbound.keepAlive as? SQLiteImport { return ThreadStoreMaintenance(sqlite.threads.store) }
        return (engine.inbound.keepAlive as! PostgresImportNodes).threads[0]
    }

    @Test(arguments: engines)
    func expiredThreadsAndHashesGoPerFieldAndTheRestStays(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        // Field `beratung` keeps 30 days, every other field 90. Threads last active at t0, t0 + 40 d, t0 + 70 d.
        var threads: [String: ThreadID] = [:]
        for (label, field, offset) in [("old", ImportEngines.field, 0.0), ("recent", ImportEngines.field, 40.0),
                                       ("otherOld", Self.otherField, 0.0), ("otherRecent", Self.otherField, 70.0)] {
            let client = ClientIdentity(field: field, key: ImportEngines.identity(threads.count + 1).key,
                                        address: ImportEngines.identity(threads.count + 1).address)
            let fingerprint = engine.importer.replayFingerprint(.sessionKey, Array(label.utf8))
            let outcome = try await engine.importer.importMessage(
                ImportEngines.message(label, at: t0.addingTimeInterval(offset * day), fingerprints: [fingerprint]),
                into: .client(client), queueing: [ImportEngines.outboxItem()])
            threads[label] = try #require(outcome.storedThread)
        }
        let rejected = RejectedMessage(id: "Q1", reason: 4, rejectedAt: t0, envelope: Data("{}".utf8),
                                       message: Data("sealed later".utf8))
        #expect(try await engine.inbound.store.keepRejected(rejected))

        let policy = RetentionPolicy(defaultDays: 90, days: [ImportEngines.field: 30], seenCiphertextDays: 50)
        let now = t0.addingTimeInterval(95 * day)
        let report = try await maintenance(engine).applyRetention(policy: policy, now: now)
        #expect(report.deletedThreads == 3 && report.forgottenCiphertextHashes == 3, "\(name): \(report)")
        #expect(report.prunedAuditEntries == 0 && report.deletedOutboxItems == 0, "\(name)")
        for label in ["old", "recent", "otherOld"] {
            await #expect(throws: ThreadStoreError.threadNotFound, "\(name): \(label)") {
                try await engine.importer.threadContent(threads[label]!)
            }
        }
        let kept = try await engine.importer.threadContent(threads["otherRecent"]!)
        #expect(kept.messages.count == 1 && kept.queuedOutboxItems == 1, "\(name)")
        #expect(try await engine.inbox.listInbox(scope: .everyField).map(\.id) == [threads["otherRecent"]!])
        // The replay hash of the kept thread (t0 + 70 d) is younger than 50 days: still a replay.
        #expect(try await engine.importer.replaySeenBefore(
            engine.importer.replayFingerprint(.sessionKey, Array("otherRecent".utf8))), "\(name)")
        #expect(try await !engine.importer.replaySeenBefore(
            engine.importer.replayFingerprint(.sessionKey, Array("recent".utf8))), "\(name)")

        #expect(try await maintenance(engine).expireRejected(before: t0.addingTimeInterval(-1)) == 0, "\(name)")
        #expect(try await maintenance(engine).expireRejected(before: now) == 1, "\(name)")
        let audit = try await engine.accessAudit()
        let byRetention = "\(AuditEvent.threadDeletedByRetention.rawValue)/"
        #expect(audit.filter { $0.hasPrefix(byRetention) }.count == 3, "\(name)")
        #expect(audit.filter { $0.hasPrefix("\(AuditEvent.retentionApplied.rawValue)/") }
            == ["\(AuditEvent.retentionApplied.rawValue)/3/-/-/-"], "\(name)")
        #expect(audit.filter { $0.hasPrefix("\(AuditEvent.rejectedMessagesExpired.rawValue)/") }
            == ["\(AuditEvent.rejectedMessagesExpired.rawValue)/1/-/-/-"], "\(name)")

        // A second pass deletes nothing more.
        let again = try await maintenance(engine).applyRetention(policy: policy, now: now)
        #expect(again.deletedThreads == 0 && again.forgottenCiphertextHashes == 0, "\(name)")
    }

    @Test(arguments: engines)
    func auditEntriesOlderThanTheAuditPeriodArePruned(engine name: String) async throws {
        // A store whose clock stands in 2020: PostgreSQL's `audit_prune` checks the cutoff against the server's
        // own clock and refuses entries younger than a year.
        let past = Date(timeIntervalSince1970: 1_600_000_000)
        let engine = try await InboxEngineUnderTest.engine(name, clock: past)
        _ = try await engine.importer.importMessage(ImportEngines.message("m1", at: past),
                                                    into: .client(ImportEngines.identity(1)))
        let before = try await engine.accessAudit().count
        #expect(before > 0, "\(name)")
        // Every row was written at the store clock's time; 729 days later none is pruned, 800 days later all are.
        let policy = RetentionPolicy(defaultDays: nil)
        let early = try await maintenance(engine).applyRetention(policy: policy, now: past.addingTimeInterval(729 * day))
        #expect(early.prunedAuditEntries == 0, "\(name)")
        let report = try await maintenance(engine).applyRetention(policy: policy,
                                                                  now: past.addingTimeInterval(800 * day))
        // Retention's own rows carry the time it was applied for: the first pass's (729 days on) is kept.
        #expect(report.prunedAuditEntries == before && report.deletedThreads == 0, "\(name): \(report)")
        let audit = try await engine.accessAudit()
        let applied = "\(AuditEvent.retentionApplied.rawValue)/0/-/-/-"
        #expect(audit == [applied, "\(AuditEvent.auditPruned.rawValue)/\(before)/-/-/-", applied], "\(name)")
    }
}
