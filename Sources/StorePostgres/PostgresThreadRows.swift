// Security: thread, message, attachment, replay, outbox and audit rows on PostgreSQL, as ThreadStore's SQLite
// statements write them. Values arrive sealed or keyed (StoreSecrets); nothing is logged but SQLSTATE codes.

import Foundation
import Logging
import PostgresNIO
import ThreadStore

/// The statements of an import and of opening a thread, on one connection inside one transaction.
struct PostgresThreadRows {
    let connection: PostgresConnection
    let logger: Logger
    /// The transaction's time for audit rows and outbox rows (the store's clock).
    let now: Date

    // MARK: Finding threads

    func threadExists(_ id: ThreadID) async throws -> Bool {
        try await exists(connection.query("SELECT 1 FROM thread WHERE id = \(id.unredactedDescription)",
                                          logger: logger))
    }

    /// The newest thread that is not closed with these lookup columns (as `Queries.findThread` and
    /// `Queries.findAwaitingKeyThread` on SQLite): a thread with key matches the key's HMAC and, where it has one,
    /// the address's; a thread without key matches field, its own HMAC and `awaiting_key`.
    func findThread(_ lookup: ThreadLookup) async throws -> ThreadID? {
        let closed = ThreadState.closed.rawValue
        let (field, key) = (lookup.field.rawValue, lookup.clientKeyHMAC)
        let rows: PostgresRowSequence
        if let address = lookup.clientAddressHMAC {
            rows = try await connection.query("""
                SELECT id FROM thread WHERE field = \(field) AND client_key_hmac = \(key)
                    AND state != \(closed) AND (client_address_hmac IS NULL OR client_address_hmac = \(address))
                ORDER BY last_activity_at DESC, id DESC LIMIT 1
                """, logger: logger)
        } else {
            rows = try await connection.query("""
                SELECT id FROM thread WHERE field = \(field) AND client_key_hmac = \(key)
                    AND awaiting_key AND state != \(closed)
                ORDER BY last_activity_at DESC, id DESC LIMIT 1
                """, logger: logger)
        }
        for try await id in rows.decode(String.self) { return try ThreadID(id) }
        return nil
    }

    func duplicate(in thread: ThreadID, _ index: ImportIndex) async throws -> StoredMessageID? {
        let rows = try await connection.query("""
            SELECT id FROM message WHERE thread_id = \(thread.unredactedDescription)
                AND message_id_hmac = \(index.messageIDHMAC) AND content_hmac = \(index.contentHMAC)
            """, logger: logger)
        for try await id in rows.decode(String.self) { return try StoredMessageID(id) }
        return nil
    }

    // MARK: Replay fingerprints

    /// Nil if the fingerprint was never seen; else whether it is only provisional.
    func replayProvisional(_ fingerprint: ReplayFingerprint) async throws -> Bool? {
        let rows = try await connection.query(
            "SELECT provisional FROM seen_ciphertext WHERE hash = \(StoreSecrets.storedBytes(fingerprint))",
            logger: logger)
        for try await provisional in rows.decode(Bool.self) { return provisional }
        return nil
    }

    /// Records a fingerprint; a final (not provisional) sighting makes a provisional entry final.
    func rememberReplay(_ fingerprint: ReplayFingerprint, at time: Date, provisional: Bool) async throws {
        try await connection.query("""
            INSERT INTO seen_ciphertext (hash, first_seen_at, provisional)
            VALUES (\(StoreSecrets.storedBytes(fingerprint)), \(StoreTime.milliseconds(time)), \(provisional))
            ON CONFLICT (hash) DO UPDATE SET provisional = seen_ciphertext.provisional AND excluded.provisional
            """, logger: logger)
    }

    // MARK: Writing

    /// A new thread and its wrapped data key; audits `threadCreated`.
    func insertThread(_ sealed: SealedThread, at time: Date) async throws {
        let id = sealed.id.unredactedDescription
        let ms = StoreTime.milliseconds(time)
        try await connection.query("""
            INSERT INTO thread (id, field, client_key_hmac, client_key_sealed, client_address_sealed, state,
                                created_at, last_activity_at, client_address_hmac, awaiting_key)
            VALUES (\(id), \(sealed.lookup.field.rawValue), \(sealed.lookup.clientKeyHMAC), \(sealed.clientKeySealed),
                    \(sealed.clientAddressSealed), \(ThreadState.open.rawValue), \(ms), \(ms),
                    \(sealed.lookup.clientAddressHMAC), \(sealed.lookup.awaitingKey))
            """, logger: logger)
        try await connection.query(
            "INSERT INTO thread_key (thread_id, wrapped_key) VALUES (\(id), \(sealed.wrappedKey))", logger: logger)
        try await audit(.threadCreated, thread: sealed.id)
    }

    /// The thread's data key, opened with the master key's derived keys.
    func dataKey(_ thread: ThreadID, secrets: StoreSecrets) async throws -> ThreadDataKey {
        try secrets.openDataKey(try await wrappedKey(thread), thread: thread)
    }

    func wrappedKey(_ thread: ThreadID) async throws -> Data {
        let rows = try await connection.query(
            "SELECT wrapped_key FROM thread_key WHERE thread_id = \(thread.unredactedDescription)", logger: logger)
        for try await wrapped in rows.decode(Data.self) { return wrapped }
        throw ThreadStoreError.threadNotFound
    }

    func insertMessage(_ sealed: SealedMessage) async throws {
        let id = sealed.id.unredactedDescription
        try await connection.query("""
            INSERT INTO message (id, thread_id, direction, message_id_hmac, content_hmac, verdict, received_at, is_read,
                                 body_size, attachment_count, header_message_id_sealed, subject_sealed, body_sealed,
                                 signer_sealed)
            VALUES (\(id), \(sealed.thread.unredactedDescription), \(sealed.direction.rawValue),
                    \(sealed.messageIDHMAC), \(sealed.contentHMAC), \(sealed.verdict.rawValue), \(sealed.receivedAt),
                    \(sealed.isRead), \(sealed.bodySize), \(sealed.attachmentCount), \(sealed.headerMessageIDSealed),
                    \(sealed.subjectSealed), \(sealed.bodySealed), \(sealed.signerSealed))
            """, logger: logger)
        for attachment in sealed.attachments {
            try await connection.query("""
                INSERT INTO attachment (message_id, position, size, name_sealed, media_type_sealed, content_sealed)
                VALUES (\(id), \(attachment.position), \(attachment.size), \(attachment.nameSealed),
                        \(attachment.mediaTypeSealed), \(attachment.contentSealed))
                """, logger: logger)
        }
    }

    /// Counts the message as activity; an inbound message reopens a closed thread.
    func touchThread(_ thread: ThreadID, at time: Date, reopen: Bool) async throws {
        let state: Int? = reopen ? ThreadState.open.rawValue : nil
        try await connection.query("""
            UPDATE thread SET last_activity_at = greatest(last_activity_at, \(StoreTime.milliseconds(time))),
                              state = coalesce(\(state), state)
            WHERE id = \(thread.unredactedDescription)
            """, logger: logger)
    }

    /// A new outbox row (pending, no lease); audits `outboxQueued` with the kind as count, as on SQLite.
    func insertOutboxItem(_ row: SealedOutboxItem) async throws {
        try await connection.query("""
            INSERT INTO outbox (id, thread_id, kind, state, attempts, next_attempt_at, created_at, payload_size,
                                recipient_sealed, payload_sealed)
            VALUES (\(row.id.unredactedDescription), \(row.thread?.unredactedDescription), \(row.kind.rawValue),
                    \(OutboxState.pending.rawValue), 0, \(row.nextAttemptAt), \(row.createdAt), \(row.payloadSize),
                    \(row.recipientSealed), \(row.payloadSealed))
            """, logger: logger)
        try await audit(.outboxQueued, thread: row.thread, itemID: row.id.unredactedDescription,
                        count: row.kind.rawValue)
    }

    /// Appends an audit row of the store (no actor, no channel), as `AuditLog.append` does on SQLite.
    func audit(_ event: AuditEvent, thread: ThreadID?, itemID: String? = nil, count: Int? = nil) async throws {
        try await auditAccess(event, actor: nil, channel: nil, thread: thread, itemID: itemID, count: count)
    }

    private func exists(_ rows: PostgresRowSequence) async throws -> Bool {
        for try await _ in rows { return true }
        return false
    }
}
