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
            let dataKey = try secrets.openDataKey(try await rows.wrappedKey(thread), thread: thread)
            let item = try secrets.sealOutboxItem(commit.item, with: dataKey, now: rows.now, limits: configuration)
            try await rows.insertOutboxItem(item)
            // Who wrote it, and the item that carries it (none while held: the row queued is the notice).
            let carrier = commit.keyUnusable == nil ? item.id.unredactedDescription : nil
            try await connection.query("""
                INSERT INTO reply_delivery (message_id, author_id, outbox_id, state)
                VALUES (\(stored.unredactedDescription), \(commit.actor?.unredactedDescription), \(carrier),
                        \(carrier == nil ? nil : 0 as Int?))
                """, logger: logger)
            if let keyUnusable = commit.keyUnusable {
                try await rows.audit(.replyKeyUnusable, thread: thread, count: keyUnusable)
                let problem = HeldReplyProblem(rawValue: keyUnusable) ?? .unusable
                let held = try await connection.query("""
                    INSERT INTO held_reply (message_id, thread_id, held_at, problem)
                    SELECT id, thread_id, \(StoreTime.milliseconds(rows.now)), \(problem.rawValue) FROM message
                    WHERE id = \(stored.unredactedDescription) AND thread_id = \(thread.unredactedDescription)
                        AND direction = \(MessageDirection.outbound.rawValue)
                    RETURNING message_id
                    """, logger: logger)
                var count = 0
                for try await _ in held { count += 1 }
                guard count == 1 else { throw ThreadStoreError.messageNotFound }
                try await rows.audit(.replyHeld, thread: thread, itemID: stored.unredactedDescription,
                                     count: problem.rawValue)
            }
            // A counsellor answered; waiting for the client.
            try await connection.query("""
                UPDATE thread SET state = \(ThreadState.awaitingClient.rawValue) WHERE id = \(thread.unredactedDescription)
                """, logger: logger)
            try await rows.auditAccess(.threadStateChanged, actor: commit.actor, channel: commit.channel,
                                       thread: thread, count: ThreadState.awaitingClient.rawValue)
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
                try await connection.query("""
                    UPDATE thread SET assigned_to = \(actor.unredactedDescription) WHERE id = \(thread.unredactedDescription)
                    """, logger: logger)
                try await rows.auditAccess(.threadAssigned, actor: actor, channel: commit.channel, thread: thread,
                                           itemID: actor.unredactedDescription)
            }
            return (item.id, stored)
        }
    }

    public func heldReplies(in thread: ThreadID) async throws -> [HeldReply] {
        let secrets = self.secrets
        return try await database.read { connection in
            let rows = rows(connection)
            let dataKey = try secrets.openDataKey(try await rows.wrappedKey(thread), thread: thread)
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
            var keys: [ThreadID: ThreadDataKey] = [:]
            for (message, item) in releases {
                let deleted = try await connection.query(
                    "DELETE FROM held_reply WHERE message_id = \(message.unredactedDescription) RETURNING message_id",
                    logger: rows.logger)
                var found = false
                for try await _ in deleted { found = true }
                guard found else { continue }  // released by a concurrent run, or deleted
                var dataKey: ThreadDataKey?
                if let thread = item.thread {
                    if keys[thread] == nil {
                        keys[thread] = try secrets.openDataKey(try await rows.wrappedKey(thread), thread: thread)
                    }
                    dataKey = keys[thread]
                }
                let row = try secrets.sealOutboxItem(item, with: dataKey, now: rows.now, limits: configuration)
                try await rows.insertOutboxItem(row)
                try await connection.query("""
                    UPDATE reply_delivery SET outbox_id = \(row.id.unredactedDescription), state = 0
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
