// Security: counsellor replies on PostgreSQL (issue 21), as ThreadStoreReplies runs them on SQLite. The reply
// arrives as a NewMessage (its inner part) and an outbox item the composer encrypted, or the fixed reply-waiting
// notice; both are sealed here with the thread's data key by ThreadStore's code (StoreSecrets) before PostgreSQL
// sees them. Audit rows carry IDs and codes.

import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: ReplyStore {
    public func replyBasis(_ thread: ThreadID) async throws -> ReplyBasis {
        let secrets = self.secrets
        return try await database.read { connection in
            let rows = rows(connection)
            let entry = try await rows.requireInboxThread(thread, in: .everyField)
            let sealed = try await rows.sealedInboxThread(thread)
            let dataKey = try secrets.openDataKey(sealed.wrappedKey, thread: thread)
            let (clientKey, clientAddress) = try secrets.openClient(
                clientKeySealed: sealed.clientKeySealed, clientAddressSealed: sealed.clientAddressSealed,
                awaitingKey: sealed.awaitingKey, with: dataKey)
            let newest = try await connection.query("""
                SELECT id, header_message_id_sealed, subject_sealed FROM message
                WHERE thread_id = \(thread.unredactedDescription) AND direction = \(MessageDirection.inbound.rawValue)
                ORDER BY received_at DESC, id DESC LIMIT 1
                """, logger: rows.logger)
            var lastInbound: (message: StoredMessageID, messageIDSealed: Data, subjectSealed: Data)?
            for try await (id, messageID, subject) in newest.decode((String, Data, Data).self) {
                lastInbound = (try StoredMessageID(id), messageID, subject)
            }
            return try secrets.openReplyBasis(entry, clientKey: clientKey, clientAddress: clientAddress,
                                              lastInbound: lastInbound, with: dataKey)
        }
    }

    public func commitReply(_ commit: ReplyCommit) async throws -> (outbox: OutboxItemID, message: StoredMessageID) {
        let index = try secrets.importIndex(commit.message, limits: configuration)
        let (secrets, configuration, logger) = (self.secrets, self.configuration, self.logger)
        let store = PostgresImport(secrets: secrets, configuration: configuration, message: commit.message,
                                   index: index, destination: .thread(commit.thread), outbox: [], logger: logger)
        return try await database.write { connection in
            let rows = rows(connection)
            guard case .stored(let thread, let stored, _) = try await store.run(on: connection) else {
                throw ThreadStoreError.invalidValue  // a fresh Message-ID cannot be a duplicate
            }
            let item = try await rows.enqueue(commit.item, secrets: secrets, limits: configuration)
            // Who wrote it, and the item that carries it (none while held: the row queued is the notice).
            let carrier = commit.keyUnusable == nil ? item.unredactedDescription : nil
            try await connection.query("""
                INSERT INTO reply_delivery (message_id, author_id, outbox_id, state)
                VALUES (\(stored.unredactedDescription), \(commit.actor?.unredactedDescription), \(carrier),
                        \(carrier == nil ? nil : 0 as Int?))
                """, logger: logger)
            if let keyUnusable = commit.keyUnusable {
                try await rows.audit(.replyKeyUnusable, thread: thread, count: keyUnusable)
                let problem = HeldReplyProblem(rawValue: keyUnusable) ?? .unusable
                let held = try await PostgresAccountRows.changed(connection.query("""
                    INSERT INTO held_reply (message_id, thread_id, held_at, problem)
                    SELECT id, thread_id, \(StoreTime.milliseconds(rows.now)), \(problem.rawValue) FROM message
                    WHERE id = \(stored.unredactedDescription) AND thread_id = \(thread.unredactedDescription)
                        AND direction = \(MessageDirection.outbound.rawValue)
                    RETURNING message_id
                    """, logger: logger))
                guard held == 1 else { throw ThreadStoreError.messageNotFound }
                try await rows.audit(.replyHeld, thread: thread, itemID: stored.unredactedDescription,
                                     count: problem.rawValue)
            }
            // A counsellor answered; waiting for the client.
            try await rows.setState(.awaitingClient, of: thread, actor: commit.actor, channel: commit.channel)
            if commit.actor != nil || commit.channel != nil {
                try await rows.auditAccess(.replyQueued, actor: commit.actor, channel: commit.channel, thread: thread,
                                           itemID: stored.unredactedDescription)
            }
            if commit.assignToActor, let actor = commit.actor,
                try await rows.requireInboxThread(thread, in: .everyField).assignedTo == nil,
                let account = try await PostgresAccountRows.find(connection, id: actor.unredactedDescription,
                                                                 logger: logger),
                !account.isDisabled
            {
                try await rows.assign(thread, to: actor, actor: actor, channel: commit.channel)
            }
            return (item, stored)
        }
    }

    public func heldReplies(in thread: ThreadID) async throws -> [HeldReply] {
        let secrets = self.secrets
        return try await database.read { connection in
            let rows = rows(connection)
            let dataKey = try await rows.dataKey(thread, secrets: secrets)
            let held = try await connection.query("""
                SELECT m.id, m.header_message_id_sealed, m.body_sealed, h.held_at, h.problem
                FROM held_reply h JOIN message m ON m.id = h.message_id
                WHERE h.thread_id = \(thread.unredactedDescription) ORDER BY m.received_at, m.id LIMIT 100
                """, logger: rows.logger)
            var replies: [HeldReply] = []
            for try await (id, messageID, body, heldAt, problem) in held.decode((String, Data, Data, Int64, Int).self) {
                replies.append(try secrets.openHeldReply(try StoredMessageID(id), messageIDSealed: messageID,
                                                         bodySealed: body, heldAt: heldAt, problemCode: problem,
                                                         with: dataKey))
            }
            return replies
        }
    }

    public func releaseHeldReplies(_ releases: [(message: StoredMessageID, item: NewOutboxItem)]) async throws -> Int {
        let (secrets, configuration) = (self.secrets, self.configuration)
        return try await database.write { connection in
            let rows = rows(connection)
            var queued = 0
            for (message, item) in releases {
                let deleted = try await PostgresAccountRows.changed(connection.query(
                    "DELETE FROM held_reply WHERE message_id = \(message.unredactedDescription) RETURNING message_id",
                    logger: rows.logger))
                guard deleted == 1 else { continue }  // released by a concurrent run, or deleted
                let row = try await rows.enqueue(item, secrets: secrets, limits: configuration)
                try await connection.query("""
                    UPDATE reply_delivery SET outbox_id = \(row.unredactedDescription), state = 0
                    WHERE message_id = \(message.unredactedDescription)
                    """, logger: rows.logger)
                try await rows.audit(.heldReplyReleased, thread: item.thread, itemID: message.unredactedDescription)
                queued += 1
            }
            return queued
        }
    }

    public func heldReplyThreads(sameClientAs thread: ThreadID) async throws -> [ThreadID] {
        let logger = self.logger
        return try await database.read { connection in
            let found = try await connection.query("""
                SELECT DISTINCT o.id, o.created_at FROM thread t JOIN thread o ON o.field = t.field
                    AND o.client_address_hmac = t.client_address_hmac AND o.id != t.id
                JOIN held_reply h ON h.thread_id = o.id
                WHERE t.id = \(thread.unredactedDescription) AND o.created_at <= t.created_at
                ORDER BY o.created_at, o.id
                """, logger: logger)
            var threads: [ThreadID] = []
            for try await (id, _) in found.decode((String, Int64).self) { threads.append(try ThreadID(id)) }
            return threads
        }
    }
}
