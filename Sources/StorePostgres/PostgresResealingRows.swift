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
            return (try resealing.outboxValue(recipient, column: "recipient_sealed", item: item),
                    try resealing.outboxValue(payload, column: "payload_sealed", item: item))
        }
    }

    /// Accounts' TOTP secrets and notification addresses.
    func accounts() async throws -> Int {
        var resealed: [(String, Data?, Data?)] = []
        let rows = try await connection.query("""
            SELECT id, totp_secret_sealed, notify_address_sealed FROM account
            WHERE totp_secret_sealed IS NOT NULL OR notify_address_sealed IS NOT NULL
            """, logger: logger)
        for try await (id, totp, address) in rows.decode((String, Data?, Data?).self) {
            let account = try AccountID(id)
            resealed.append((id, try totp.map { sealed throws(ThreadStoreError) in
                                 try resealing.totpSecret(sealed, of: account) },
                             try address.map { sealed throws(ThreadStoreError) in
                                 try resealing.notificationAddress(sealed, of: account) }))
        }
        for (id, totp, address) in resealed {
            try await connection.query("""
                UPDATE account SET totp_secret_sealed = \(totp), notify_address_sealed = \(address) WHERE id = \(id)
                """, logger: logger)
        }
        return resealed.count
    }

    /// Kept rejected messages (envelope and message).
    func rejected() async throws -> Int {
        try await resealEach("rejected_message", ("sealed_envelope", "sealed_message")) { id, envelope, message in
            (try resealing.rejected(envelope, column: "envelope", id: id),
             try resealing.rejected(message, column: "message", id: id))
        }
    }

    /// Reseals two columns of every row of `table` matching `condition` (`id` is the key), one row at a time: a
    /// value may be large (a rejected message).
    private func resealEach(
        _ table: String, _ columns: (String, String), where condition: String = "TRUE",
        _ reseal: (String, Data, Data) throws -> (Data, Data)
    ) async throws -> Int {
        var ids: [String] = []
        let rows = try await connection.query(
            "SELECT id FROM \(unescaped: table) WHERE \(unescaped: condition)", logger: logger)
        for try await id in rows.decode(String.self) { ids.append(id) }
        for id in ids {
            let sealed = try await connection.query(
                "SELECT \(unescaped: columns.0), \(unescaped: columns.1) FROM \(unescaped: table) WHERE id = \(id)",
                logger: logger)
            for try await (first, second) in sealed.decode((Data, Data).self) {
                let (resealedFirst, resealedSecond) = try reseal(id, first, second)
                try await connection.query("""
                    UPDATE \(unescaped: table) SET \(unescaped: columns.0) = \(resealedFirst),
                        \(unescaped: columns.1) = \(resealedSecond) WHERE id = \(id)
                    """, logger: logger)
            }
        }
        return ids.count
    }

    /// The gateway keys' revocation certificates and reasons.
    func gatewayKeys() async throws -> Int {
        var resealed: [(String, Data?, Data?)] = []
        let rows = try await connection.query("""
            SELECT fingerprint, sealed_revocation, sealed_reason FROM gateway_key
            WHERE sealed_revocation IS NOT NULL OR sealed_reason IS NOT NULL
            """, logger: logger)
        for try await (text, revocation, reason) in rows.decode((String, Data?, Data?).self) {
            guard let fingerprint = try? KeyFingerprint(text), fingerprint.hex == text else {
                throw ThreadStoreError.databaseCorrupt
            }
            resealed.append((text, try revocation.map { sealed throws(ThreadStoreError) in
                                 try resealing.gatewayKeyValue(sealed, part: "revocation", fingerprint: fingerprint) },
                             try reason.map { sealed throws(ThreadStoreError) in
                                 try resealing.gatewayKeyValue(sealed, part: "reason", fingerprint: fingerprint) }))
        }
        for (fingerprint, revocation, reason) in resealed {
            try await connection.query("""
                UPDATE gateway_key SET sealed_revocation = \(revocation), sealed_reason = \(reason)
                WHERE fingerprint = \(fingerprint)
                """, logger: logger)
        }
        return resealed.count
    }

    /// The key shelves every node pulls from: the clients' public keys and the gateway's secret keys. `changed_at`
    /// stays: the keys themselves did not change.
    func sharedKeys() async throws -> Int {
        var count = 0
        for table in ["public_key", "gateway_secret_key"] {
            var resealed: [(Data, Data)] = []
            let rows = try await connection.query(
                "SELECT key_hmac, sealed FROM \(unescaped: table)", logger: logger)
            for try await (rowKey, sealed) in rows.decode((Data, Data).self) {
                resealed.append((rowKey, table == "public_key"
                                    ? try resealing.publicKey(sealed, rowKey: rowKey)
                                    : try resealing.gatewaySecretKey(sealed, rowKey: rowKey)))
            }
            for (rowKey, sealed) in resealed {
                try await connection.query(
                    "UPDATE \(unescaped: table) SET sealed = \(sealed) WHERE key_hmac = \(rowKey)", logger: logger)
            }
            count += resealed.count
        }
        return count
    }
}
