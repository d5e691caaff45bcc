import Foundation
import MailValues
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The inbound import on each engine, for the conformance and node suites (issue 21).
enum ImportEngines {
    static let start = WebStateEngines.start
    static let field = try! CounsellingField("beratung")

    /// Small limits, the same on both engines, so the limit scenarios need no large test data.
    static var configuration: ThreadStore.Configuration {
        var configuration = ThreadStore.Configuration()
        configuration.maximumBodyBytes = 4096
        configuration.maximumSubjectBytes = 256
        configuration.maximumAttachments = 2
        configuration.maximumAttachmentBytes = 1024
        configuration.maximumOutboxPayloadBytes = 2048
        configuration.clock = { start }
        return configuration
    }

    /// The import of engine `name` ("sqlite" or "postgresql") under `masterKey`, with what keeps it alive.
    static func engine(
        _ name: String, masterKey: MasterKey = .generate(),
        configuration: ThreadStore.Configuration = ImportEngines.configuration
    ) async throws -> ImportEngineUnderTest {
        if name == "sqlite" {
            let sqlite = try SQLiteImport(masterKey: masterKey, configuration: configuration)
            return ImportEngineUnderTest(store: sqlite.threads, keepAlive: sqlite) { thread in
                try await sqlite.threads.store.write { tx in try tx.setState(.closed, of: thread) }
            }
        }
        let nodes = try await postgres(masterKey: masterKey, configuration: configuration)
        return ImportEngineUnderTest(store: nodes.threads[0], keepAlive: nodes) { thread in
            _ = try nodes.psql("UPDATE thread SET state = \(ThreadState.closed.rawValue) " +
                               "WHERE id = '\(thread.unredactedDescription)'")
        }
    }

    /// A fresh migrated database with `nodes` gateway nodes (each its own pool) importing into it.
    static func postgres(
        nodes: Int = 1, masterKey: MasterKey = .generate(),
        configuration: ThreadStore.Configuration = ImportEngines.configuration
    ) async throws -> PostgresImportNodes {
        let (endpoint, database) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
        var running: [RunningDatabase] = []
        var threads: [PostgresThreads] = []
        for _ in 0..<nodes {
            let pool = try RunningDatabase(endpoint)
            running.append(pool)
            threads.append(try await PostgresThreads.open(pool.database, masterKey: masterKey,
                                                          configuration: configuration,
                                                          logger: PostgresTesting.logger))
        }
        return PostgresImportNodes(database: database, pools: running, threads: threads, masterKey: masterKey)
    }

    /// Client `number`: a key fingerprint of its own and `client<number>@example.org`.
    static func identity(_ number: Int, address: String? = nil) -> ClientIdentity {
        ClientIdentity(field: field, key: try! ClientKeyFingerprint(String(format: "%040X", number)),
                       address: try! ClientAddress(address ?? "client\(number)@example.org"))
    }

    static func message(
        _ messageID: String, subject: String = "Betreff", body: String = "Hallo", at time: Date = start,
        fingerprints: [ReplayFingerprint] = [], provisional: Bool = false, attachments: [NewAttachment] = [],
        signer: MessageSigner? = nil, verdict: SignatureVerdictCode = .unsigned
    ) -> NewMessage {
        NewMessage(direction: .inbound, messageID: "<\(messageID)@example.org>", subject: subject,
                   body: Array(body.utf8), attachments: attachments, verdict: verdict, receivedAt: time,
                   replayFingerprints: fingerprints, replayFingerprintsAreProvisional: provisional, signer: signer)
    }

    /// A receipt-like outbox item to queue with an import (its thread is set by the import).
    static func outboxItem(payload: Int = 64) -> NewOutboxItem {
        NewOutboxItem(thread: nil, kind: .receipt, recipient: try! ClientAddress("client1@example.org"),
                      payload: Array(repeating: 0x41, count: payload), notBefore: start)
    }
}

extension ImportOutcome {
    /// The thread of a stored message, nil otherwise.
    var storedThread: ThreadID? {
        if case .stored(let thread, _, _) = self { return thread }
        return nil
    }
}

/// One engine's import; `keepAlive` holds its file or its running pool. `close` closes a thread as a counsellor
/// would (not part of the import seam).
struct ImportEngineUnderTest: Sendable {
    let store: any ImportStore
    let keepAlive: any Sendable
    let close: @Sendable (ThreadID) async throws -> Void
}

/// Keeps a SQLite store (and its folder) alive as long as its import.
final class SQLiteImport: Sendable {
    let folder: URL
    let threads: ThreadStoreImport

    init(masterKey: MasterKey, configuration: ThreadStore.Configuration) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        threads = ThreadStoreImport(try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"),
                                                    masterKey: masterKey, configuration: configuration))
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}

/// Several nodes importing into one database; the pools run as long as this value lives.
struct PostgresImportNodes: Sendable {
    let database: TestDatabase
    let pools: [RunningDatabase]
    let threads: [PostgresThreads]
    let masterKey: MasterKey

    /// One query's rows as text (psql as the database's owner).
    func psql(_ sql: String) throws -> String {
        try database.server.psql(sql, database: database.name)
    }

    /// Every row of every table of the schema as text (BYTEA as `\x` hex), for the at-rest checks.
    func dumpAllTables() throws -> String {
        let tables = try psql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        precondition(tables.contains("message") && tables.contains("thread"))
        return try tables.map { try psql("SELECT t::text FROM \($0) t") }.joined(separator: "\n")
    }
}
