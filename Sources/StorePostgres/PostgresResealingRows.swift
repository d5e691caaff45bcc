// Security: the rows a master key rotation reseals on PostgreSQL, one table at a time, inside the rotation's
// transaction (PostgresMasterKeyRotation). Values are read sealed, resealed in this process (StoreResealing) and
// written back to the same row; a value that does not open aborts the whole rotation.

import Foundation
import Logging
import PostgresNIO
import ThreadStore

/// Per-table resealing on one connection; each function returns how many rows it changed.
struct PostgresResealingRows {
    let connection: PostgresConnection
    let resealing: StoreResealing
    let logger: Logger

    /// Every thread's wrapped data key.
    func threadKeys() async throws -> Int {
        var rewrapped: [(String, Data)] = []
        let rows = try await connection.query("SELECT thread_id, wrapped_key FROM thread_key", logger: logger)
        for try await (thread, wrapped) in rows.decode((String, Data).self) {
            rewrapped.append((thread, try resealing.threadKey(wrapped, thread: try ThreadID(thread))))
        }
        for (thread, wrapped) in rewrapped {
            try await connection.query(
                "UPDATE thread_key SET wrapped_key = \(wrapped) WHERE thread_id = \(thread)", logger: logger)
        }
        return rewrapped.count
    }

    /// The outbox items of no thread (auto-replies to plain mail): recipient and payload. A thread's items are
    /// sealed under its data key and need nothing.
    func outbox() async throws -> Int {
        try await resealEach("outbox", ("recipient_sealed", "payload_sealed"), where: "thread_id IS NULL") {
            id, recipient, payload in
            let item = try OutboxItemID(id)
            return (try recipient.map { try resealing.outboxValue($0, column: "recipient_sealed", item: item) },
                    try payload.map { try resealing.outboxValue($0, column: "payload_sealed", item: item) })
        }
    }

    /// Accounts' TOTP secrets and notification addresses.
    func accounts() async throws -> Int {
        try await resealEach("account", ("totp_secret_sealed", "notify_address_sealed"),
                             where: "totp_secret_sealed IS NOT NULL OR notify_address_sealed IS NOT NULL") {
            id, totp, address in
            let account = try AccountID(id)
            return (try totp.map { try resealing.totpSecret($0, of: account) },
                    try address.map { try resealing.notificationAddress($0, of: account) })
        }
    }

    /// Kept rejected messages (envelope and message).
    func rejected() async throws -> Int {
        try await resealEach("rejected_message", ("sealed_envelope", "sealed_message")) { id, envelope, message in
            (try envelope.map { try resealing.rejected($0, column: "envelope", id: id) },
             try message.map { try resealing.rejected($0, column: "message", id: id) })
        }
    }

    /// The gateway keys' revocation certificates and reasons.
    func gatewayKeys() async throws -> Int {
        try await resealEach("gateway_key", ("sealed_revocation", "sealed_reason"), key: "fingerprint",
                             where: "sealed_revocation IS NOT NULL OR sealed_reason IS NOT NULL") {
            text, revocation, reason in
            guard let fingerprint = try? KeyFingerprint(text), fingerprint.hex == text else {
                throw ThreadStoreError.databaseCorrupt
            }
            return (try revocation.map { try resealing.gatewayKeyValue($0, part: "revocation", fingerprint: fingerprint) },
                    try reason.map { try resealing.gatewayKeyValue($0, part: "reason", fingerprint: fingerprint) })
        }
    }

    /// Reseals two columns (either may be NULL) of every row of `table` matching `condition`, one row at a time:
    /// a value may be large (a rejected message). `key` is the table's key column.
    private func resealEach(
        _ table: String, _ columns: (String, String), key: String = "id", where condition: String = "TRUE",
        _ reseal: (String, Data?, Data?) throws -> (Data?, Data?)
    ) async throws -> Int {
        var keys: [String] = []
        let rows = try await connection.query(
            "SELECT \(unescaped: key) FROM \(unescaped: table) WHERE \(unescaped: condition)", logger: logger)
        for try await id in rows.decode(String.self) { keys.append(id) }
        for id in keys {
            let sealed = try await connection.query("""
                SELECT \(unescaped: columns.0), \(unescaped: columns.1) FROM \(unescaped: table)
                WHERE \(unescaped: key) = \(id)
                """, logger: logger)
            for try await (first, second) in sealed.decode((Data?, Data?).self) {
                let (resealedFirst, resealedSecond) = try reseal(id, first, second)
                try await connection.query("""
                    UPDATE \(unescaped: table) SET \(unescaped: columns.0) = \(resealedFirst),
                        \(unescaped: columns.1) = \(resealedSecond) WHERE \(unescaped: key) = \(id)
                    """, logger: logger)
            }
        }
        return keys.count
    }

    /// The key shelves every node pulls from: the clients' public keys and the gateway's secret keys. `changed_at`
    /// stays: the keys themselves did not change.
    func sharedKeys() async throws -> Int {
        var count = 0
        let shelves: [(String, (Data, Data) throws(ThreadStoreError) -> Data)] = [
            ("public_key", resealing.publicKey), ("gateway_secret_key", resealing.gatewaySecretKey),
        ]
        for (table, reseal) in shelves {
            var resealed: [(Data, Data)] = []
            let rows = try await connection.query(
                "SELECT key_hmac, sealed FROM \(unescaped: table)", logger: logger)
            for try await (rowKey, sealed) in rows.decode((Data, Data).self) {
                resealed.append((rowKey, try reseal(sealed, rowKey)))
            }
            for (rowKey, sealed) in resealed {
                try await connection.query(
                    "UPDATE \(unescaped: table) SET sealed = \(sealed) WHERE key_hmac = \(rowKey)", logger: logger)
            }
            count += resealed.count
        }
        return count
    }

    /// The messages waiting in the shared inbound spool (stopped nodes' messages not yet processed): envelope and
    /// every piece, one piece at a time. Rows already marked damaged do not open under the old key either and are
    /// left as they are; a row that does not open under the old key now (a piece altered or missing) is marked
    /// damaged, as a node restoring it would mark it, and the rotation goes on. Returns both counts.
    func inboundSpool() async throws -> (resealed: Int, damaged: Int) {
        var messages: [(String, Int, Data)] = []
        let rows = try await connection.query(
            "SELECT queue_id, pieces, envelope_sealed FROM inbound_spool WHERE NOT damaged", logger: logger)
        for try await row in rows.decode((String, Int, Data).self) { messages.append(row) }
        var damaged = 0
        for (queue, pieces, envelope) in messages {
            do {
                try await resealSpooled(queue, pieces: pieces, envelope: envelope)
            } catch let error as ThreadStoreError where error == .unsealingFailed {
                try await connection.query("UPDATE inbound_spool SET damaged = true WHERE queue_id = \(queue)",
                                           logger: logger)
                damaged += 1
            }
        }
        return (messages.count - damaged, damaged)
    }

    private func resealSpooled(_ queue: String, pieces: Int, envelope: Data) async throws {
        let resealed = try resealing.spooled(envelope, queue: queue, part: .envelope)
        try await connection.query(
            "UPDATE inbound_spool SET envelope_sealed = \(resealed) WHERE queue_id = \(queue)", logger: logger)
        for index in 0..<pieces {
            let found = try await connection.query(
                "SELECT sealed FROM inbound_spool_piece WHERE queue_id = \(queue) AND piece = \(index)",
                logger: logger)
            var sealed: Data?
            for try await value in found.decode(Data.self) { sealed = value }
            guard let sealed else { throw ThreadStoreError.unsealingFailed }
            let piece = try resealing.spooled(sealed, queue: queue,
                                              part: .piece(index: index, last: index == pieces - 1))
            try await connection.query(
                "UPDATE inbound_spool_piece SET sealed = \(piece) WHERE queue_id = \(queue) AND piece = \(index)",
                logger: logger)
        }
    }
}
