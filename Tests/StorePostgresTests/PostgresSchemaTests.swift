import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing
import TestSupport

@testable import StorePostgres

/// The ported schema behaves as ThreadStore's SQLite schema where SQL carries behaviour: the `waiting_since`
/// triggers (NoticeSchema.v12), user names unique without regard to case (COLLATE NOCASE), one current gateway
/// key per mailbox, and a thread's rows (its data key first) gone with it.
@Suite struct PostgresSchemaTests {
    let logger = PostgresTesting.logger
    static let thread = String(repeating: "d", count: 32)

    private func prepared() async throws -> PostgresEndpoint {
        let (endpoint, _) = try await PostgresTesting.freshEndpoint()
        _ = try await PostgresStore.open(endpoint, logger: logger)
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            let hmac = ByteBuffer(bytes: [UInt8](repeating: 7, count: 32))
            let sealed = ByteBuffer(bytes: [1, 2, 3])
            try await connection.query("""
                INSERT INTO thread (id, field, client_key_hmac, client_key_sealed, client_address_sealed, state,
                                    created_at, last_activity_at)
                VALUES (\(Self.thread), 'allgemein', \(hmac), \(sealed), \(sealed), 0, 1, 1)
                """, logger: logger)
            try await connection.query(
                "INSERT INTO thread_key (thread_id, wrapped_key) VALUES (\(Self.thread), \(sealed))", logger: logger)
        }
        return endpoint
    }

    private func insertMessage(_ number: Int, direction: Int, at time: Int64, on connection: PostgresConnection)
        async throws
    {
        let id = String(format: "%032x", number)
        let hmac = ByteBuffer(bytes: [UInt8](repeating: UInt8(number), count: 32))
        let sealed = ByteBuffer(bytes: [9])
        try await connection.query("""
            INSERT INTO message (id, thread_id, direction, message_id_hmac, content_hmac, verdict, received_at,
                                 is_read, body_size, attachment_count, header_message_id_sealed, subject_sealed,
                                 body_sealed)
            VALUES (\(id), \(Self.thread), \(direction), \(hmac), \(hmac), 0, \(time), FALSE, 1, 0, \(sealed),
                    \(sealed), \(sealed))
            """, logger: logger)
    }

    private func waitingSince(_ connection: PostgresConnection) async throws -> Int64? {
        let rows = try await connection.query("SELECT waiting_since FROM thread WHERE id = \(Self.thread)",
                                              logger: logger)
        var value: Int64?
        for try await waiting in rows.decode(Int64?.self) { value = waiting }
        return value
    }

    @Test func waitingSinceFollowsInboundAndCounsellorMessages() async throws {
        let endpoint = try await prepared()
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            #expect(try await waitingSince(connection) == nil)
            try await insertMessage(1, direction: 0, at: 10, on: connection)
            #expect(try await waitingSince(connection) == 10)
            try await insertMessage(2, direction: 0, at: 15, on: connection)
            #expect(try await waitingSince(connection) == 10)
            try await insertMessage(3, direction: 1, at: 20, on: connection)
            #expect(try await waitingSince(connection) == nil)
            try await insertMessage(4, direction: 0, at: 30, on: connection)
            #expect(try await waitingSince(connection) == 30)
            // An inbound message older than the newest counsellor message (late delivery) does not wait.
            try await insertMessage(5, direction: 0, at: 18, on: connection)
            #expect(try await waitingSince(connection) == 30)
            try await insertMessage(6, direction: 1, at: 25, on: connection)
            #expect(try await waitingSince(connection) == 30)
            try await insertMessage(7, direction: 1, at: 40, on: connection)
            #expect(try await waitingSince(connection) == nil)
        }
    }

    @Test func userNamesAreUniqueWithoutRegardToCase() async throws {
        let endpoint = try await prepared()
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            func insert(_ id: String, _ username: String) async throws {
                try await connection.query("""
                    INSERT INTO account (id, username, display_name, role, language, password_hash, created_at,
                                         password_changed_at)
                    VALUES (\(id), \(username), 'Name', 0, 'de', 'hash', 1, 1)
                    """, logger: logger)
            }
            try await insert(String(repeating: "1", count: 32), "Anna")
            let error = await #expect(throws: PSQLError.self) {
                try await insert(String(repeating: "2", count: 32), "anna")
            }
            #expect(error?.serverInfo?[.sqlState] == "23505")
        }
    }

    @Test func oneCurrentGatewayKeyPerMailbox() async throws {
        let endpoint = try await prepared()
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            func insert(_ fingerprint: String, state: Int) async throws {
                try await connection.query("""
                    INSERT INTO gateway_key (fingerprint, mailbox, state, created_at)
                    VALUES (\(fingerprint), 'beratung@example.org', \(state), 1)
                    """, logger: logger)
            }
            try await insert(String(repeating: "A", count: 40), state: 0)
            try await insert(String(repeating: "B", count: 40), state: 1)
            let second = await #expect(throws: PSQLError.self) { try await insert(String(repeating: "C", count: 40),
                                                                                  state: 0) }
            #expect(second?.serverInfo?[.sqlState] == "23505")
            let lowercase = await #expect(throws: PSQLError.self) { try await insert(String(repeating: "d", count: 40),
                                                                                     state: 2) }
            #expect(lowercase?.serverInfo?[.sqlState] == "23514")
        }
    }

    @Test func deletingAThreadRemovesItsKeyMessagesAndOutboxRows() async throws {
        let endpoint = try await prepared()
        try await PostgresConnector.withConnection(endpoint, logger: logger) { connection in
            try await insertMessage(1, direction: 0, at: 10, on: connection)
            var row = PostgresOutboxRow.sample(notBefore: 1)
            row.threadID = Self.thread
            try await PostgresOutbox.enqueue(row, on: connection, logger: logger)
            try await connection.query("DELETE FROM thread WHERE id = \(Self.thread)", logger: logger)
            let rows = try await connection.query("""
                SELECT (SELECT count(*) FROM thread_key) + (SELECT count(*) FROM message)
                     + (SELECT count(*) FROM outbox)
                """, logger: logger)
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
        }
    }
}
