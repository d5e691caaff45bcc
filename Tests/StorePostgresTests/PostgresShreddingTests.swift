import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing
import TestSupport

@testable import StorePostgres

/// Crypto-shredding on PostgreSQL (issue 21, docs/postgresql.md "Deleting a thread on PostgreSQL: what VACUUM and
/// WAL keep"): what of a deleted `thread_key` row stays in the heap file and in the WAL, measured on a private
/// server of its own (no other test's transactions hold back VACUUM, no other test's WAL) with full-page writes
/// on, as on a real installation. The sealed data key is a recognisable value: a canary and random octets.
///
/// Asserted: the deleted row stays in the heap file (a dead tuple) until VACUUM; a plain VACUUM frees the space of
/// the newest row of a page without overwriting it (PostgreSQL 15's layout; no release promises either way);
/// `VACUUM FULL thread_key` writes a new file, and after the next CHECKPOINT no heap file holds the octets; the WAL
/// holds the row (its INSERT, and page images of later changes) until its segments go; with `wal_recycle = off`, a
/// few rounds of WAL switch and CHECKPOINT remove them (at most six are tried), and then no file of the data folder
/// holds the octets. What `wal_recycle = on` (the default) leaves is measured and printed, not asserted.
@Suite struct PostgresShreddingTests {
    let logger = PostgresTesting.logger

    @Test func aDeletedKeyRowStaysUntilVacuumFullAndItsWALSegmentsAreRemoved() async throws {
        let server = try await offCooperativePool { () -> PostgresServer in
            let server = try PostgresServer(tls: false)
            try server.start()
            return server
        }
        defer { server.stop() }
        func sql(_ text: String, _ database: String = "postgres") async throws -> String {
            try await offCooperativePool { try server.psql(text, database: database) }
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try await sql("ALTER SYSTEM SET full_page_writes = on")
        _ = try await sql("SELECT pg_reload_conf()")
        let database = try await server.makeDatabase()
        let endpoint = PostgresTesting.endpoint(database)
        _ = try await PostgresStore.open(endpoint, logger: logger)
        // No autovacuum run between the measurements.
        _ = try await sql("ALTER TABLE thread_key SET (autovacuum_enabled = false)", database.name)
        #expect(try await sql("SHOW full_page_writes") == "on")

        let canary = "MBSHREDCANARY" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let target = String(repeating: "f", count: 32)
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            // Twenty other threads first; the target's key row is the newest tuple of the page.
            for number in 0..<20 {
                try await insertThread(String(format: "%032x", number), key: (0..<60).map { _ in .random(in: 0...255) },
                                       on: connection)
            }
            try await insertThread(target, key: Array(canary.utf8) + (0..<16).map { _ in .random(in: 0...255) },
                                   on: connection)
        }
        let needle = [canary]
        let data = server.dataDirectory
        func heapFile() async throws -> URL {
            data.appendingPathComponent(try await sql("SELECT pg_relation_filepath('thread_key')", database.name))
        }
        func inFile(_ file: URL) -> Bool { !PostgresCanaryScan.scan(
            Array(FileManager.default.contents(atPath: file.path) ?? Data()), file: "", for: needle).isEmpty }
        func inFolder(_ folder: String) throws -> Bool {
            !(try PostgresCanaryScan.folder(data.appendingPathComponent(folder), for: needle)).isEmpty
        }
        func checkpoint() async throws { _ = try await sql("CHECKPOINT") }
        func switchAndCheckpoint() async throws {
            _ = try await sql("SELECT pg_switch_wal()")
            try await checkpoint()
        }

        try await checkpoint()
        let heap = try await heapFile()
        #expect(inFile(heap), "the scan finds the live row in the heap file")
        #expect(try inFolder("pg_wal"), "and its INSERT in the WAL")

        _ = try await sql("DELETE FROM thread WHERE id = '\(target)'", database.name)
        #expect(try await sql("SELECT count(*) FROM thread_key WHERE thread_id = '\(target)'", database.name) == "0")
        try await checkpoint()
        #expect(inFile(heap), "a deleted row is a dead tuple until VACUUM")

        _ = try await sql("VACUUM thread_key", database.name)
        try await checkpoint()
        #expect(try await heapFile() == heap)
        #expect(inFile(heap), "VACUUM frees the dead tuple's space but does not overwrite it")

        _ = try await sql("VACUUM FULL thread_key", database.name)
        try await checkpoint()
        let rewritten = try await heapFile()
        #expect(rewritten != heap)
        #expect(!inFile(rewritten) && !inFile(heap))
        #expect(try !inFolder("base") && !inFolder("global"), "VACUUM FULL + CHECKPOINT: in no heap file")
        #expect(try await sql("SELECT count(*) FROM thread_key", database.name) == "20")

        // The WAL: with wal_recycle = on (the default) old segments are renamed for reuse, not emptied.
        try await switchAndCheckpoint()
        try await switchAndCheckpoint()
        let recycledStillHolds = try inFolder("pg_wal")
        print("shredding: after DELETE, VACUUM, VACUUM FULL, 2 × (pg_switch_wal + CHECKPOINT) with wal_recycle = on, "
            + "the WAL still holds the key row: \(recycledStillHolds)")
        _ = try await sql("ALTER SYSTEM SET wal_recycle = off")
        _ = try await sql("SELECT pg_reload_conf()")
        // Segments recycled before are overwritten (a switch fills the rest of a segment) once the server reaches
        // them; older ones are now deleted at the checkpoint.
        var rounds = 0
        while try inFolder("pg_wal"), rounds < 6 {
            try await switchAndCheckpoint()
            rounds += 1
        }
        print("shredding: with wal_recycle = off, gone from pg_wal after \(rounds) × (pg_switch_wal + CHECKPOINT)")
        #expect(try !inFolder("pg_wal"), "wal_recycle = off: the segments are removed")
        let everywhere = try PostgresCanaryScan.folder(data, for: needle)
        #expect(everywhere.isEmpty, "\(everywhere)")
    }

    private func insertThread(_ id: String, key: [UInt8], on connection: PostgresConnection) async throws {
        let hmac = ByteBuffer(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
        let sealed = ByteBuffer(bytes: [1, 2, 3])
        try await connection.query("""
            INSERT INTO thread (id, field, client_key_hmac, client_key_sealed, client_address_sealed, state,
                                created_at, last_activity_at)
            VALUES (\(id), 'allgemein', \(hmac), \(sealed), \(sealed), 0, 1, 1)
            """, logger: logger)
        try await connection.query(
            "INSERT INTO thread_key (thread_id, wrapped_key) VALUES (\(id), \(ByteBuffer(bytes: key)))", logger: logger)
    }
}
