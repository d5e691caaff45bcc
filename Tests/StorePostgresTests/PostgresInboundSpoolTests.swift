import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The inbound spool several nodes share on a real PostgreSQL (issue 21), under the gateway's own role: a message
/// comes back byte for byte and the database holds it sealed; a piece moved, reordered, dropped or cut off, or an
/// envelope swapped, does not open; a node's messages are taken over only after its lease ran out, and then only
/// the new holder may release them.
@Suite struct PostgresInboundSpoolTests {
    let logger = PostgresTesting.logger
    let canary = "SPOOL-CANARY-\(UUID().uuidString.prefix(8))"

    /// Two nodes' spools on one fresh database, connected as the gateway's role.
    private func nodes(lease: Duration = .seconds(60)) async throws -> (PostgresNodes, PostgresInboundSpool,
                                                                        PostgresInboundSpool, MasterKey) {
        let key = MasterKey.generate()
        let nodes = try await WebStateEngines.postgres(nodes: 2, masterKey: key, gatewayRole: true)
        let a = try await PostgresInboundSpool.open(nodes.pools[0].database, masterKey: key, node: "node-a",
                                                    lease: lease, logger: logger)
        let b = try await PostgresInboundSpool.open(nodes.pools[1].database, masterKey: key, node: "node-b",
                                                    lease: lease, logger: logger)
        return (nodes, a, b, key)
    }

    /// A message file of `size` octets with the canary at its start, middle and end.
    private func messageFile(size: Int) throws -> (URL, Data) {
        var bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let mark = Data(canary.utf8)
        if size >= mark.count * 3 {
            for offset in [0, size / 2, size - mark.count] {
                bytes.replaceSubrange(offset..<(offset + mark.count), with: mark)
            }
        }
        let url = FileManager.default.temporaryDirectory.appending(path: "spool-\(UUID().uuidString).eml")
        try bytes.write(to: url)
        return (url, bytes)
    }

    private func envelope(_ queue: String) -> Data {
        Data(#"{"version":1,"queue":"\#(queue)","from":"\#(canary.lowercased())@example.net"}"#.utf8)
    }

    private func opened(_ spool: PostgresInboundSpool, _ queue: String) async throws -> (Data, Data) {
        let collected = NIOLockedValueBox(Data())
        let envelope = try await spool.open(queue) { offset, piece in
            collected.withLockedValue {
                #expect(Int64($0.count) == offset)
                $0.append(piece)
            }
        }
        return (envelope, collected.withLockedValue { $0 })
    }

    @Test(arguments: [0, 1, 1 << 20, (5 << 19) + 3])
    func aMessageComesBackExactlyAndTheDatabaseHoldsItSealed(size: Int) async throws {
        let (nodes, a, b, _) = try await nodes()
        let (file, bytes) = try messageFile(size: size)
        defer { try? FileManager.default.removeItem(at: file) }
        try await a.record(queue: "q1", envelope: envelope("q1"), messageFile: file.path)
        #expect(try await a.held().map(\.queue) == ["q1"])
        #expect(try await a.held().first?.size == Int64(size))
        #expect(try await b.held().isEmpty)
        let (envelope, content) = try await opened(b, "q1")
        #expect(envelope == self.envelope("q1"))
        #expect(content == bytes)
        let pieces = try nodes.database.server.psql("SELECT count(*) FROM inbound_spool_piece",
                                                    database: nodes.database.name)
        #expect(pieces.trimmingCharacters(in: .whitespacesAndNewlines)
                    == String((size + (1 << 20) - 1) >> 20))
        let hits = try PostgresCanaryScan.dump(nodes.database.name, on: nodes.database.server,
                                               for: [canary, canary.lowercased()])
        #expect(hits.isEmpty, "\(hits.prefix(3))")
        #expect(try await a.counts() == (waiting: 1, damaged: 0))
        #expect(try await a.release("q1"))
        #expect(try await a.counts() == (waiting: 0, damaged: 0))
        #expect(try nodes.database.server.psql("SELECT count(*) FROM inbound_spool_piece",
                                               database: nodes.database.name)
                    .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    /// Each tampering is undone before the next; every one makes the message refuse to open, with nothing of it
    /// handed out past the first damaged piece.
    @Test func aPieceOrEnvelopeMovedReorderedDroppedOrCutOffDoesNotOpen() async throws {
        let (nodes, a, _, _) = try await nodes()
        for queue in ["qx", "qy"] {
            let (file, _) = try messageFile(size: (5 << 19) + 11)  // three pieces
            defer { try? FileManager.default.removeItem(at: file) }
            try await a.record(queue: queue, envelope: envelope(queue), messageFile: file.path)
        }
        let server = nodes.database.server, name = nodes.database.name
        func sql(_ statement: String) throws { _ = try server.psql(statement, database: name) }
        try sql("CREATE TABLE saved_piece AS SELECT * FROM inbound_spool_piece")
        try sql("CREATE TABLE saved_spool AS SELECT * FROM inbound_spool")
        let restore = """
            DELETE FROM inbound_spool_piece; UPDATE inbound_spool s SET envelope_sealed = v.envelope_sealed,
            pieces = v.pieces FROM saved_spool v WHERE v.queue_id = s.queue_id;
            INSERT INTO inbound_spool_piece SELECT * FROM saved_piece
            """
        let tamperings: [(String, String)] = [
            ("two pieces swapped", """
                UPDATE inbound_spool_piece SET piece = 100 WHERE queue_id = 'qx' AND piece = 0;
                UPDATE inbound_spool_piece SET piece = 0 WHERE queue_id = 'qx' AND piece = 1;
                UPDATE inbound_spool_piece SET piece = 1 WHERE queue_id = 'qx' AND piece = 100
                """),
            ("a piece of another message", """
                UPDATE inbound_spool_piece p SET sealed = o.sealed FROM saved_piece o
                WHERE p.queue_id = 'qx' AND p.piece = 1 AND o.queue_id = 'qy' AND o.piece = 1
                """),
            ("the last piece dropped", "DELETE FROM inbound_spool_piece WHERE queue_id = 'qx' AND piece = 2"),
            ("cut off after the second piece", """
                DELETE FROM inbound_spool_piece WHERE queue_id = 'qx' AND piece = 2;
                UPDATE inbound_spool SET pieces = 2 WHERE queue_id = 'qx'
                """),
            ("the envelope of another message", """
                UPDATE inbound_spool s SET envelope_sealed = o.envelope_sealed FROM saved_spool o
                WHERE s.queue_id = 'qx' AND o.queue_id = 'qy'
                """),
            ("one bit of a piece", """
                UPDATE inbound_spool_piece SET sealed = overlay(sealed PLACING
                    set_byte(substring(sealed FROM 40 FOR 1), 0, get_byte(sealed, 39) # 1) FROM 40 FOR 1)
                WHERE queue_id = 'qx' AND piece = 0
                """),
        ]
        for (what, statement) in tamperings {
            try sql(statement)
            await #expect(throws: ThreadStoreError.unsealingFailed, "\(what)") { _ = try await opened(a, "qx") }
            try sql(restore)
            _ = try await opened(a, "qx")  // whole again
        }
    }

    @Test func aStoppedNodesMessagesAreTakenOverOnlyAfterItsLeaseRanOut() async throws {
        let (nodes, a, b, _) = try await nodes(lease: .seconds(2))
        let (file, bytes) = try messageFile(size: 4096)
        defer { try? FileManager.default.removeItem(at: file) }
        try await a.record(queue: "q1", envelope: envelope("q1"), messageFile: file.path)
        #expect(try await b.takeOverExpired() == 0)
        // Node A renews while it runs: still its own after more than one lease.
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(900))
            #expect(try await a.renewLeases() == 1)
            #expect(try await b.takeOverExpired() == 0)
        }
        // Node A stops renewing (it died): after the lease node B takes the message over.
        try await Task.sleep(for: .milliseconds(2200))
        #expect(try await b.takeOverExpired() == 1)
        #expect(try await a.held().isEmpty)
        #expect(try await b.held().map(\.queue) == ["q1"])
        #expect(try await a.locate(["q1", "q2"]) == ["q1": .elsewhere])
        #expect(try await b.locate(["q1"]) == ["q1": .here])
        // A lease further ahead than any node sets (an altered row) is not trusted.
        _ = try nodes.database.server.psql(
            "UPDATE inbound_spool SET lease_until = lease_until + 86400000 WHERE queue_id = 'q1'",
            database: nodes.database.name)
        #expect(try await a.locate(["q1"]) == ["q1": .unusable])
        #expect(try await b.locate(["q1"]) == ["q1": .here])
        #expect(try await opened(b, "q1").1 == bytes)
        // Node A, back, can no longer release what node B holds; node B can.
        #expect(try await !a.release("q1"))
        #expect(try await a.renewLeases() == 0)
        #expect(try await b.release("q1"))
        #expect(try await b.held().isEmpty)
        _ = nodes
    }

    @Test func aDamagedMessageIsKeptAndNoLongerTakenOver() async throws {
        let (nodes, a, b, _) = try await nodes(lease: .seconds(1))
        let (file, _) = try messageFile(size: 100)
        defer { try? FileManager.default.removeItem(at: file) }
        try await a.record(queue: "q1", envelope: envelope("q1"), messageFile: file.path)
        try await a.markDamaged("q1")
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await b.takeOverExpired() == 0)
        #expect(try await a.held().map(\.damaged) == [true])
        #expect(try await b.locate(["q1"]) == ["q1": .unusable])
        #expect(try await b.counts() == (waiting: 1, damaged: 1))
        _ = nodes
    }

    /// What `mailbridge spool list` and `spool delete --shared` use: the damaged rows of every node, clear columns
    /// only, and their deletion (the pieces; the row stays a tombstone); a row that is not damaged is never deleted
    /// that way.
    @Test func damagedRowsAreListedAndOnlyTheyCanBeDeleted() async throws {
        let (nodes, a, b, _) = try await nodes()
        let (file, _) = try messageFile(size: (1 << 20) + 5)
        defer { try? FileManager.default.removeItem(at: file) }
        try await a.record(queue: "q1", envelope: envelope("q1"), messageFile: file.path)
        try await b.record(queue: "q2", envelope: envelope("q2"), messageFile: file.path)
        #expect(try await b.damaged().isEmpty)
        #expect(try await b.deleteDamaged("q1") == false)
        #expect(try await b.deleteDamaged("q9") == false)
        try await a.markDamaged("q1")
        let listed = try await b.damaged()
        #expect(listed.map(\.queue) == ["q1"])
        #expect(listed.map(\.node) == ["node-a"])
        #expect(listed.map(\.size) == [Int64((1 << 20) + 5)])
        #expect(!"\(listed)".contains(canary) && !"\(listed)".lowercased().contains(canary.lowercased()))
        #expect(try await b.deleteDamaged("q1"))
        #expect(try await b.deleteDamaged("q1") == false)  // once
        #expect(try await b.counts() == (waiting: 1, damaged: 0))
        #expect(try await b.damaged().isEmpty)
        // A tombstone stays: a node whose local copy waited for the row processes that copy instead of taking the
        // row's absence for "processed elsewhere".
        #expect(try await a.locate(["q1"]) == ["q1": .unusable])
        // The pieces went with the row; the other message is whole.
        let pieces = try nodes.database.server.psql(
            "SELECT count(*) FROM inbound_spool_piece WHERE queue_id = 'q1'", database: nodes.database.name)
        #expect(pieces.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try await opened(b, "q2").1 == (try Data(contentsOf: file)))
    }

    @Test func aMessageFileThatDoesNotExistIsRefusedAndNothingIsStored() async throws {
        let (nodes, a, _, _) = try await nodes()
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await a.record(queue: "q1", envelope: envelope("q1"), messageFile: "/nonexistent/q1.eml")
        }
        #expect(try await a.held().isEmpty)
        _ = nodes
    }
}
