// Security: opening a thread on PostgreSQL. Rows leave the database sealed and are opened in this process with
// the thread's data key (StoreSecrets); a value altered or moved to another row does not open.

import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads {
    public func threadContent(_ id: ThreadID) async throws -> ThreadContent {
        let logger = self.logger
        let sealed = try await database.read { connection in
            try await SealedThreadContent.read(id, on: connection, logger: logger)
        }
        let dataKey = try secrets.openDataKey(sealed.wrappedKey, thread: id)
        let (clientKey, clientAddress) = try secrets.openClient(
            clientKeySealed: sealed.clientKeySealed, clientAddressSealed: sealed.clientAddressSealed,
            awaitingKey: sealed.awaitingKey, with: dataKey)
        return ThreadContent(
            id: id, field: sealed.field, state: sealed.state, isAwaitingKey: sealed.awaitingKey, clientKey: clientKey,
            clientAddress: clientAddress,
            messages: try sealed.messages.map { message throws(ThreadStoreError) in
                try secrets.openMessage(message, with: dataKey)
            },
            queuedOutboxItems: sealed.queuedOutboxItems)
    }
}

/// A thread's rows as read, still sealed.
struct SealedThreadContent: Sendable {
    var field: CounsellingField
    var state: ThreadState
    var awaitingKey: Bool
    var clientKeySealed: Data
    var clientAddressSealed: Data
    var wrappedKey: Data
    var messages: [SealedMessage]
    var queuedOutboxItems: Int

    static func read(_ id: ThreadID, on connection: PostgresConnection, logger: Logger) async throws
        -> SealedThreadContent
    {
        let text = id.unredactedDescription
        let threads = try await connection.query("""
            SELECT t.field, t.state, t.awaiting_key, t.client_key_sealed, t.client_address_sealed, k.wrapped_key
            FROM thread t JOIN thread_key k ON k.thread_id = t.id WHERE t.id = \(text)
            """, logger: logger)
        var found: SealedThreadContent?
        for try await (field, state, awaiting, key, address, wrapped)
            in threads.decode((String, Int, Bool, Data, Data, Data).self)
        {
            guard let state = ThreadState(rawValue: state) else { throw ThreadStoreError.databaseCorrupt }
            found = SealedThreadContent(field: try CounsellingField(field), state: state, awaitingKey: awaiting,
                                        clientKeySealed: key, clientAddressSealed: address, wrappedKey: wrapped,
                                        messages: [], queuedOutboxItems: 0)
        }
        guard var content = found else { throw ThreadStoreError.threadNotFound }

        var attachments: [String: [SealedAttachment]] = [:]
        let attachmentRows = try await connection.query("""
            SELECT a.message_id, a.position, a.size, a.name_sealed, a.media_type_sealed, a.content_sealed
            FROM attachment a JOIN message m ON m.id = a.message_id
            WHERE m.thread_id = \(text) ORDER BY a.message_id, a.position
            """, logger: logger)
        for try await (message, position, size, name, mediaType, body)
            in attachmentRows.decode((String, Int, Int, Data, Data, Data).self)
        {
            attachments[message, default: []].append(SealedAttachment(
                position: position, size: size, nameSealed: name, mediaTypeSealed: mediaType, contentSealed: body))
        }

        let messageRows = try await connection.query("""
            SELECT id, direction, message_id_hmac, content_hmac, verdict, received_at, is_read, body_size,
                   attachment_count, header_message_id_sealed, subject_sealed, body_sealed, signer_sealed
            FROM message WHERE thread_id = \(text) ORDER BY received_at, id
            """, logger: logger)
        for try await (message, direction, messageIDHMAC, contentHMAC, verdict, receivedAt, isRead, bodySize,
                       attachmentCount, headerMessageID, subject, body, signer)
            in messageRows.decode((String, Int, Data, Data, Int, Int64, Bool, Int, Int, Data, Data, Data, Data?).self)
        {
            guard let direction = MessageDirection(rawValue: direction),
                let verdict = SignatureVerdictCode(rawValue: verdict)
            else { throw ThreadStoreError.databaseCorrupt }
            content.messages.append(SealedMessage(
                id: try StoredMessageID(message), thread: id, direction: direction, messageIDHMAC: messageIDHMAC,
                contentHMAC: contentHMAC, verdict: verdict, receivedAt: receivedAt, isRead: isRead,
                bodySize: bodySize, attachmentCount: attachmentCount, headerMessageIDSealed: headerMessageID,
                subjectSealed: subject, bodySealed: body, signerSealed: signer,
                attachments: attachments[message] ?? []))
        }

        let counts = try await connection.query("""
            SELECT count(*) FROM outbox WHERE thread_id = \(text) AND state = \(OutboxState.pending.rawValue)
            """, logger: logger)
        for try await count in counts.decode(Int64.self) { content.queuedOutboxItems = Int(count) }
        return content
    }
}
