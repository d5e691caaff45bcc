import Foundation
import Logging
import MailBridge
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// The real ``Pipeline`` (real gpg, the ``PipelineHarness``'s keys and mailbox) on PostgreSQL through
/// ``InboundStore`` (`PostgresThreads`), next to the same pipeline on SQLite: the same mail gives the same outcomes,
/// the same thread content and the same queued mail on both engines, and PostgreSQL holds no clear content: not in
/// its tables, its data folder (heap, indexes, WAL) nor a `pg_dump` (issue 21).
@Suite struct PostgresPipelineTests {
    /// A signed, encrypted PGP/MIME mail with the client's key in an Autocrypt header (first contact).
    private func signedMail(_ harness: PipelineHarness, client: KeyFingerprint, address: String, canary: String,
                            messageID: String) throws -> String {
        let inner = PipelineHarness.innerEntity(subject: "Betreff \(canary)-subject", body: "Hallo \(canary)-body",
                                                fileName: "\(canary)-file.pdf")
        let ciphertext = try harness.client.gpg(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                                 "--recipient", harness.gateway.hex], stdin: Array(inner.utf8)).stdout
        let keydata = try harness.client.gpg(["--export", "--export-options", "export-minimal", client.hex]).stdout
        return try harness.pgpMIMEMail(from: address, ciphertext: ciphertext, messageID: messageID, extraHeaders: [
            "Autocrypt": " addr=\(address); prefer-encrypt=mutual; keydata=\(Data(keydata).base64EncodedString())",
        ])
    }

    /// An outcome without its engine's random thread ID.
    private func shape(_ outcome: AcceptOutcome) -> String {
        switch outcome {
        case .imported(_, let created): "imported(created: \(created))"
        case .duplicate: "duplicate"
        default: "\(outcome)"
        }
    }

    @Test func firstContactReturningClientDuplicateAndReplayComeOutAsOnSQLite() async throws {
        let harness = try await PipelineHarness(receiptPeriod: 3600)
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let endpoint = PostgresEndpoint(host: server.host, port: server.port, database: database.name,
                                        user: database.user, passwordFile: database.passwordFile.path, tls: .disable,
                                        connectTimeoutSeconds: 5)
        let logger = Logger(label: "test.postgres-pipeline")
        _ = try await PostgresStore.open(endpoint, logger: logger)
        let pool = try PostgresDatabase(endpoint, maximumConnections: 4, logger: logger)
        let running = Task { await pool.run() }
        defer { running.cancel() }
        let threads = try await PostgresThreads.open(pool, masterKey: .generate(), logger: logger)
        let onPostgres = Pipeline(threads: threads, pgp: harness.pgp, configuration: harness.pipeline.configuration,
                                  logger: harness.logs.logger("pipeline-postgresql"))

        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let address = "klient-\(UUID().uuidString.prefix(8).lowercased())@example.net"
        let client = try harness.client.makeKey(address)
        let first = try signedMail(harness, client: client, address: address, canary: canary + "1",
                                   messageID: "<m1@example.net>")
        let second = try signedMail(harness, client: client, address: address, canary: canary + "2",
                                    messageID: "<m2@example.net>")
        let replay = first.replacingOccurrences(of: "<m1@example.net>", with: "<m9@example.net>")
        var threadOnPostgres: ThreadID?
        var threadOnSQLite: ThreadID?
        let expected = ["imported(created: true)", "imported(created: false)", "duplicate",
                        "rejected-encrypted(replayedCiphertext)"]
        for (raw, want) in zip([first, second, first, replay], expected) {
            let message = try harness.spool(raw, from: address)
            // PostgreSQL first: its run is the true first contact (the client's key arrives by Autocrypt).
            let postgres = try await onPostgres.accept(message)
            let sqlite = try await harness.pipeline.accept(message)
            #expect(shape(postgres) == want && shape(sqlite) == want, "\(postgres) / \(sqlite)")
            if case .imported(let thread, _) = postgres { threadOnPostgres = thread }
            if case .imported(let thread, _) = sqlite { threadOnSQLite = thread }
        }
        let onPG = try await threads.threadContent(try #require(threadOnPostgres))
        let sqliteThread = try #require(threadOnSQLite)
        let onSQLite = try await harness.store.read { try $0.openThread(sqliteThread) }
        #expect(onPG.clientKey == client && onSQLite.clientKey == client)
        #expect(onPG.clientAddress == onSQLite.clientAddress && !onPG.isAwaitingKey)
        #expect(onPG.messages.count == 2 && onSQLite.messages.count == 2)
        for (pg, lite) in zip(onPG.messages, onSQLite.messages) {
            #expect(pg.messageID == lite.messageID && pg.subject == lite.subject && pg.body == lite.body)
            #expect(pg.verdict == .valid && pg.verdict == lite.verdict && pg.signer == lite.signer)
            #expect(pg.attachments.map(\.name) == lite.attachments.map(\.name))
            #expect(pg.attachments.map(\.content) == lite.attachments.map(\.content))
            #expect(pg.receivedAt == lite.receivedAt && pg.direction == lite.direction)
        }
        #expect(onPG.messages.first?.subject == "Betreff \(canary)1-subject")

        // The same mail queued: two notices and one receipt (within its period) on each engine.
        let queuedOnSQLite = try await harness.outbox().map(\.kind.rawValue).sorted()
        let queuedOnPG = try server.psql("SELECT kind FROM outbox ORDER BY kind", database: database.name)
            .split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        #expect(queuedOnSQLite == [OutboxKind.notification.rawValue, OutboxKind.notification.rawValue,
                                   OutboxKind.receipt.rawValue])
        #expect(queuedOnPG == queuedOnSQLite)

        // PostgreSQL holds no clear content and no address, in any row of any table.
        let tables = try server.psql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
                                     database: database.name)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        #expect(tables.contains("message") && tables.contains("outbox"))
        let rows = try tables.map { try server.psql("SELECT t::text FROM \($0) t", database: database.name) }
            .joined(separator: "\n")
        #expect(rows.contains("\\x"))  // sealed values are there, as hex
        for needle in [canary, address] {
            #expect(!rows.contains(needle))
            #expect(!rows.lowercased().contains(Data(needle.utf8).map { String(format: "%02x", $0) }.joined()))
        }
        // Nor any file of the server's data folder (heap, indexes, WAL) after a checkpoint, nor a pg_dump.
        try await offCooperativePool { try server.psql("CHECKPOINT") }
        let hits = try await offCooperativePool {
            try PostgresCanaryScan.folder(server.dataDirectory, for: [canary, address])
        }
        #expect(hits.isEmpty, "\(hits)")
        let dump = try await offCooperativePool { try server.dump(database.name) }
        #expect(PostgresCanaryScan.scan(dump, file: "pg_dump", for: [canary, address]).isEmpty)
        for line in harness.logs.all { #expect(!line.contains(canary)) }
        await harness.close()
    }
}
