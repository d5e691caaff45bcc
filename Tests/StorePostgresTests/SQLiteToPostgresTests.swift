import Foundation
import TestSupport
import Testing
import ThreadStore

@testable import StorePostgres

/// `mailbridge store migrate --to postgresql`'s copy: a SQLite installation with threads, messages, an attachment,
/// outbox rows, an account and its audit log moved into an empty PostgreSQL database opens there with the same
/// master key and reads the same; the audit sequence goes on after the copied entries; a database that is not
/// empty is refused.
@Suite struct SQLiteToPostgresTests {
    @Test func aSQLiteInstallationMovesAndOpensOnPostgreSQL() async throws {
        let masterKey = MasterKey.generate()
        let sqlite = try SQLiteImport(masterKey: masterKey, configuration: ImportEngines.configuration)
        // Webhook events recorded (issue 29): they move as they are, and copying the audit rows on PostgreSQL must
        // not record them a second time through the trigger there.
        try await ThreadStoreWebhookEvents(sqlite.threads.store).setWebhookSubscription(true, now: ImportEngines.start)
        let attachment = NewAttachment(name: "brief.pdf", mediaType: "application/pdf",
                                       content: Array(repeating: 0x25, count: 300))
        var threads: [ThreadID] = []
        for (number, client) in [(1, 1), (2, 1), (3, 2)] {
            let outcome = try await sqlite.threads.importMessage(
                ImportEngines.message("move\(number)", body: "Kanarienvogel \(number)",
                                      attachments: number == 3 ? [attachment] : []),
                into: .client(ImportEngines.identity(client)), queueing: [ImportEngines.outboxItem()])
            guard case .stored(let thread, _, _) = outcome else {
                Issue.record("not stored: \(outcome)")
                return
            }
            if !threads.contains(thread) { threads.append(thread) }
        }
        // Rows in the other tables a running gateway fills: an account with a session and an API token, the
        // redirect limit, a once-record, a pending notice digest, a kept rejected message, a gateway key's expiry.
        let store = sqlite.threads.store
        let sender = store.senderHMAC(canonicalAddress: "plain@example.org")
        _ = try await store.write { tx in
            let account = try tx.createAccount(NewAccount(username: "anna", displayName: "Anna", role: .counsellor,
                                                          fields: [ImportEngines.field],
                                                          passwordHash: "$2b$04$" + String(repeating: "a", count: 53)),
                                               actor: nil)
            _ = try tx.createWebSession(for: account, secondFactorDone: true, now: ImportEngines.start, lifetime: 600)
            _ = try tx.createAPIToken(for: account, label: "Skript", actor: account)
            _ = try tx.shouldSendRedirect(to: sender, now: ImportEngines.start, period: 86_400)
            _ = try tx.recordOnce("fetch-failed:1", now: ImportEngines.start, period: 86_400)
            try tx.countNotice(for: .team(ImportEngines.field), field: ImportEngines.field, mode: .hourly,
                               now: ImportEngines.start)
            _ = try tx.keepRejected(RejectedMessage(id: "q-1", reason: 3, rejectedAt: ImportEngines.start,
                                                    envelope: Data("envelope".utf8), message: Data("message".utf8)))
            try tx.registerGatewayKey(NewGatewayKey(
                fingerprint: try KeyFingerprint(String(repeating: "CD", count: 20)), mailbox: "beratung@example.org",
                createdAt: ImportEngines.start, expiresAt: ImportEngines.start + 86_400 * 365,
                revocationCertificate: Data("revocation certificate".utf8)))
        }

        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
        let pool = try RunningDatabase(endpoint)
        let report = try await SQLiteToPostgres.migrate(sqlite.threads.store, into: pool.database,
                                                        logger: PostgresTesting.logger, batch: 2)
        #expect(report.rows["message"] == 3 && report.rows["attachment"] == 1 && report.rows["outbox"] == 3)
        #expect(report.rows["thread"] == 2 && report.rows["account"] == 1 && (report.rows["audit"] ?? 0) >= 8)
        #expect(report.threads == 2)
        #expect(report.rows["webhook_event"] == 5 && report.rows["webhook_subscription"] == 1, "\(report.rows)")
        for table in ["web_session", "api_token", "sender_rate_limit", "notice_pending", "rejected_message",
                      "gateway_key", "account_field"] {
            #expect((report.rows[table] ?? 0) >= 1, "\(table): \(report.rows[table] ?? 0) rows")
        }

        // The same master key opens the copy, and every thread reads as on SQLite.
        let postgres = try await PostgresThreads.open(pool.database, masterKey: masterKey,
                                                      configuration: ImportEngines.configuration,
                                                      logger: PostgresTesting.logger)
        for thread in threads {
            let there = try await postgres.threadContent(thread)
            let here = try await sqlite.threads.threadContent(thread)
            #expect(there.messages.map(\.body) == here.messages.map(\.body))
            #expect(there.messages.map(\.subject) == here.messages.map(\.subject))
            #expect(there.messages.flatMap(\.attachments).map(\.content)
                    == here.messages.flatMap(\.attachments).map(\.content))
            #expect(there.clientAddress == here.clientAddress && there.queuedOutboxItems == here.queuedOutboxItems)
        }
        // A duplicate on PostgreSQL is recognised (the keyed HMACs came along), and a new message gets audit rows
        // after the copied ones (the identity moved past them).
        let again = try await postgres.importMessage(ImportEngines.message("move1", body: "Kanarienvogel 1"),
                                                     into: .client(ImportEngines.identity(1)))
        guard case .duplicate = again else {
            Issue.record("expected a duplicate, got \(again)")
            return
        }
        let fresh = try await postgres.importMessage(ImportEngines.message("move4"),
                                                     into: .client(ImportEngines.identity(3)))
        guard case .stored = fresh else {
            Issue.record("expected stored, got \(fresh)")
            return
        }
        // No canary in clear on PostgreSQL.
        let dump = try database.server.psql("SELECT string_agg(encode(body_sealed, 'escape'), '') FROM message",
                                            database: database.name)
        #expect(!dump.contains("Kanarienvogel"))

        // Not empty any more: refused, nothing changed.
        await #expect(throws: StoreMigrationError.self) {
            try await SQLiteToPostgres.migrate(sqlite.threads.store, into: pool.database,
                                               logger: PostgresTesting.logger)
        }
        #expect(try database.server.psql("SELECT count(*) FROM message", database: database.name)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "4")
    }
}
