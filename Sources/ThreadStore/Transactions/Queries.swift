import Crypto
import Foundation
import GRDB

/// Read-side queries shared by ``ReadTransaction`` and ``WriteTransaction``.
enum Queries {
    static let summarySelect = """
        SELECT t.id, t.field, t.state, t.created_at, t.last_activity_at,
            (SELECT count(*) FROM message m WHERE m.thread_id = t.id) AS message_count,
            (SELECT count(*) FROM message m WHERE m.thread_id = t.id AND m.is_read = 0) AS unread_count
        FROM thread t
        """

    static func summary(from row: Row) throws(ThreadStoreError) -> ThreadSummary {
        guard let id = try? ThreadID(row["id"] as String), let field = try? CounsellingField(row["field"] as String),
            let state = ThreadState(rawValue: row["state"])
        else { throw .databaseCorrupt }
        return ThreadSummary(
            id: id,
            field: field,
            state: state,
            createdAt: Date(storeMilliseconds: row["created_at"]),
            lastActivityAt: Date(storeMilliseconds: row["last_activity_at"]),
            messageCount: row["message_count"],
            unreadCount: row["unread_count"]
        )
    }

    static func listThreads(
        _ db: Database,
        context: TransactionContext,
        field: CounsellingField,
        state: ThreadState?,
        limit: Int,
        before cursor: ThreadSummary?
    ) throws -> [ThreadSummary] {
        guard limit > 0, limit <= context.configuration.maximumPageSize else { throw ThreadStoreError.limitExceeded }
        var sql = summarySelect + " WHERE t.field = ?"
        var arguments: StatementArguments = [field.rawValue]
        if let state {
            sql += " AND t.state = ?"
            arguments += [state.rawValue]
        }
        if let cursor {
            // Keyset paging (row values, SQLite ≥ 3.15): stable while new messages arrive.
            sql += " AND (t.last_activity_at, t.id) < (?, ?)"
            arguments += [cursor.lastActivityAt.storeMilliseconds, cursor.id.unredactedDescription]
        }
        sql += " ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?"
        arguments += [limit]
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map {
            row throws(ThreadStoreError) in
            try summary(from: row)
        }
    }

    static func threadSummary(_ db: Database, id: ThreadID) throws -> ThreadSummary? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: summarySelect + " WHERE t.id = ?"),
                arguments: [id.raw.text]
            )
        else {
            return nil
        }
        return try summary(from: row)
    }

    /// Unwraps a thread's data key. Throws ``ThreadStoreError/threadNotFound`` if the thread (or its key) is gone.
    static func dataKey(_ db: Database, context: TransactionContext, thread: ThreadID) throws -> SymmetricKey {
        guard
            let wrapped = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT wrapped_key FROM thread_key WHERE thread_id = ?"),
                arguments: [thread.raw.text]
            )
        else { throw ThreadStoreError.threadNotFound }
        return try Sealing.unwrap(wrapped, for: thread, keys: context.keys)
    }

    static func clientKeyHMAC(_ key: ClientKeyFingerprint, context: TransactionContext) -> Data {
        context.keys.indexHMAC("client-key", Data(key.hex.utf8))
    }

    /// Case-insensitive: `Klient@Example.net` and `klient@example.net` are the same sender.
    static func clientAddressHMAC(_ address: ClientAddress, context: TransactionContext) -> Data {
        context.keys.indexHMAC("client-address", Data(address.matchingKey.utf8))
    }

    /// The client's thread that holds one of our outbound messages with one of `messageIDs`, newest first.
    static func threadAnswered(_ db: Database, context: TransactionContext, messageIDs: [String],
                               client: ClientIdentity) throws -> ThreadID? {
        let hashes = messageIDs.prefix(32).map { context.keys.indexHMAC("message-id", Data($0.utf8)) }
        guard !hashes.isEmpty else { return nil }
        let marks = Array(repeating: "?", count: hashes.count).joined(separator: ", ")
        var arguments: StatementArguments = [MessageDirection.outbound.rawValue]
        arguments += StatementArguments(hashes)
        arguments += [client.field.rawValue, clientKeyHMAC(client.key, context: context),
                      clientAddressHMAC(client.address, context: context)]
        let text = try String.fetchOne(
            db,
            sql: """
                SELECT t.id FROM message m JOIN thread t ON t.id = m.thread_id
                WHERE m.direction = ? AND m.message_id_hmac IN (\(marks)) AND t.field = ? AND t.client_key_hmac = ?
                    AND (t.client_address_hmac IS NULL OR t.client_address_hmac = ?)
                ORDER BY m.received_at DESC LIMIT 1
                """,
            arguments: arguments)
        guard let text else { return nil }
        guard let id = try? ThreadID(text) else { throw ThreadStoreError.databaseCorrupt }
        return id
    }

    static func findThread(_ db: Database, context: TransactionContext, client: ClientIdentity) throws -> ThreadID? {
        let text = try String.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id FROM thread WHERE field = ? AND client_key_hmac = ? AND state != ?
                        AND (client_address_hmac IS NULL OR client_address_hmac = ?)
                    ORDER BY last_activity_at DESC, id DESC LIMIT 1
                    """
            ),
            arguments: [client.field.rawValue, clientKeyHMAC(client.key, context: context), ThreadState.closed.rawValue,
                        clientAddressHMAC(client.address, context: context)]
        )
        guard let text else { return nil }
        guard let id = try? ThreadID(text) else { throw ThreadStoreError.databaseCorrupt }
        return id
    }

    static func openThread(_ db: Database, context: TransactionContext, id: ThreadID) throws -> OpenedThread {
        guard let record = try ThreadRecord.fetch(db, id: id), let summary = try threadSummary(db, id: id) else {
            throw ThreadStoreError.threadNotFound
        }
        let key = try dataKey(db, context: context, thread: id)
        let clientKey = try Sealing.openString(
            record.clientKeySealed,
            key: key,
            context: ThreadRecord.context("client_key_sealed", thread: id)
        )
        let clientAddress = try Sealing.openString(
            record.clientAddressSealed,
            key: key,
            context: ThreadRecord.context("client_address_sealed", thread: id)
        )

        var attachments: [StoredMessageID: [StoredAttachment]] = [:]
        let attachmentRows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT a.message_id, a.position, a.name_sealed, a.media_type_sealed, a.content_sealed
                    FROM attachment a JOIN message m ON m.id = a.message_id
                    WHERE m.thread_id = ? ORDER BY a.message_id, a.position
                    """
            ),
            arguments: [id.raw.text]
        )
        while let row = try attachmentRows.next() {
            guard let messageID = try? StoredMessageID(row["message_id"] as String) else {
                throw ThreadStoreError.databaseCorrupt
            }
            let position: Int = row["position"]
            func open(_ column: String) throws(ThreadStoreError) -> Data {
                try Sealing.open(
                    row[column],
                    key: key,
                    context: AttachmentRecord.context(column, thread: id, message: messageID, position: position)
                )
            }
            guard let name = String(data: try open("name_sealed"), encoding: .utf8),
                let mediaType = String(data: try open("media_type_sealed"), encoding: .utf8)
            else { throw ThreadStoreError.unsealingFailed }
            attachments[messageID, default: []].append(
                StoredAttachment(name: name, mediaType: mediaType, content: Array(try open("content_sealed")))
            )
        }

        var messages: [StoredMessage] = []
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: "SELECT \(MessageRecord.columns) FROM message WHERE thread_id = ? ORDER BY received_at, id"
            ),
            arguments: [id.raw.text]
        )
        while let row = try rows.next() {
            let record = try MessageRecord(row: row)
            func context(_ column: String) -> SealContext {
                MessageRecord.context(column, thread: id, message: record.id)
            }
            messages.append(
                StoredMessage(
                    id: record.id,
                    direction: record.direction,
                    messageID: try Sealing.openString(
                        record.headerMessageIDSealed,
                        key: key,
                        context: context("header_message_id_sealed")
                    ),
                    subject: try Sealing.openString(record.subjectSealed, key: key, context: context("subject_sealed")),
                    body: Array(try Sealing.open(record.bodySealed, key: key, context: context("body_sealed"))),
                    attachments: attachments[record.id] ?? [],
                    verdict: record.verdict,
                    signer: try record.openSigner(key: key),
                    receivedAt: Date(storeMilliseconds: record.receivedAt),
                    isRead: record.isRead
                )
            )
        }
        return OpenedThread(
            summary: summary,
            clientKey: try Queries.clientKey(db, thread: id, sealed: clientKey),
            clientAddress: try ClientAddress(clientAddress),
            messages: messages,
            heldReplies: try ReadTransaction(db: db, context: context).heldReplyIDs(in: id)
        )
    }

    /// Nil if the fingerprint was never seen; else whether it is only provisional.
    static func replayProvisional(_ db: Database, _ fingerprint: ReplayFingerprint) throws -> Bool? {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT provisional FROM seen_ciphertext WHERE hash = ?"),
            arguments: [fingerprint.bytes])
    }

    static func replaySeenBefore(_ db: Database, _ fingerprint: ReplayFingerprint) throws -> Bool {
        try replayProvisional(db, fingerprint) != nil
    }

    static func dueOutboxItems(
        _ db: Database,
        context: TransactionContext,
        now: Date,
        limit: Int
    ) throws
        -> [OutboxItem]
    {
        var waiting: [OutboxItemID] = []
        return try dueOutboxItems(db, context: context, now: now, limit: limit, waiting: &waiting)
    }

    /// The due items that open; `waiting` gets those of threads whose organisation's key is not loaded (issue 29:
    /// a thread of a field the configuration no longer gives that organisation), which the caller postpones.
    static func dueOutboxItems(
        _ db: Database,
        context: TransactionContext,
        now: Date,
        limit: Int,
        waiting: inout [OutboxItemID]
    ) throws
        -> [OutboxItem]
    {
        guard limit > 0, limit <= context.configuration.maximumPageSize else { throw ThreadStoreError.limitExceeded }
        let records = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT \(OutboxRecord.columns) FROM outbox WHERE state = ? AND next_attempt_at <= ?
                    AND ?3 IS NOT NULL \(closedThreadsClause(context, parameter: 3)) ORDER BY next_attempt_at, id LIMIT ?
                    """
            ),
            arguments: [OutboxState.pending.rawValue, now.storeMilliseconds, context.keys.organisations.closedFieldsJSON,
                        limit]
        ).map { row throws(ThreadStoreError) in try OutboxRecord(row: row) }
        var threadKeys: [ThreadID: SymmetricKey] = [:]
        var items: [OutboxItem] = []
        for record in records {
            let key: SymmetricKey
            if let thread = record.threadID {
                if let cached = threadKeys[thread] {
                    key = cached
                } else {
                    do {
                        key = try dataKey(db, context: context, thread: thread)
                    } catch let error as ThreadStoreError where error.code == .organisationKeyMissing {
                        waiting.append(record.id)
                        continue
                    }
                    threadKeys[thread] = key
                }
            } else {
                key = context.keys.outbox
            }
            items.append(try Outbox.decrypt(record, key: key))
        }
        return items
    }

    /// Leaves out the outbox items of threads whose organisation's key is not loaded (issue 29; the argument:
    /// ``OrganisationKeys/closedFieldsJSON``): they wait, and the others go on.
    /// The argument is SQL parameter number `parameter`, also bound to an always true `AND ?N IS NOT NULL`:
    /// without a missing key the clause is left out, so the queries stay one index seek.
    static func closedThreadsClause(_ context: TransactionContext, parameter: Int) -> String {
        guard !context.keys.organisations.closedFields.isEmpty else { return "" }
        return "AND (thread_id IS NULL OR thread_id NOT IN (SELECT id FROM thread WHERE field IN "
            + "(SELECT value FROM json_each(?\(parameter)))))"
    }

    static func nextOutboxAttemptDate(_ db: Database, context: TransactionContext) throws -> Date? {
        // Served by the index outbox_due (state, next_attempt_at): one index seek (a scan of the closed threads'
        // items only while an organisation's key is missing).
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT min(next_attempt_at) FROM outbox WHERE state = ? AND ?2 IS NOT NULL "
                                   + closedThreadsClause(context, parameter: 2)),
            arguments: [OutboxState.pending.rawValue, context.keys.organisations.closedFieldsJSON]
        ).map(Date.init(storeMilliseconds:))
    }

    static func auditEntries(_ db: Database, after sequence: Int64, limit: Int) throws -> [AuditEntry] {
        try auditRows(
            db, sql: "\(auditColumns) FROM audit WHERE id > ? ORDER BY id LIMIT ?", arguments: [sequence, limit])
    }

    static let auditColumns = "SELECT id, at, event, thread_id, item_id, count, actor_id, channel, token_id"

    /// The newest `limit` rows matching `filter`, oldest first (each filter column has an index).
    static func latestAuditEntries(_ db: Database, _ filter: AuditFilter, limit: Int) throws -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let thread = filter.thread {
            conditions.append("thread_id = ?")
            _ = arguments.append(contentsOf: [thread.unredactedDescription])
        }
        if let actor = filter.actor {
            conditions.append("actor_id = ?")
            _ = arguments.append(contentsOf: [actor.unredactedDescription])
        }
        if let since = filter.since {
            conditions.append("at >= ?")
            _ = arguments.append(contentsOf: [since.storeMilliseconds])
        }
        if let before = filter.before {
            conditions.append("id < ?")
            _ = arguments.append(contentsOf: [before])
        }
        if let organisation = filter.organisationScope {
            // A row about a thread belongs to the thread's organisation (by field), whoever acted; a row without a
            // thread to its account's (actor or item), so that an account moved between organisations takes no
            // row about the old one's threads along, and only from its latest move on (`moved`), so that it takes
            // none of its old organisation's thread-less rows either.
            conditions.append("""
                (thread_id IN (SELECT id FROM thread WHERE field IN (SELECT value FROM json_each(?)))
                 OR (thread_id IS NULL AND (
                     (actor_id IN (SELECT id FROM account WHERE organisation = ?)
                      AND NOT EXISTS (SELECT 1 FROM moved WHERE moved.item_id = audit.actor_id AND moved.since > audit.id))
                     OR (item_id IN (SELECT id FROM account WHERE organisation = ?)
                      AND NOT EXISTS (SELECT 1 FROM moved WHERE moved.item_id = audit.item_id AND moved.since > audit.id)))))
                """)
            _ = arguments.append(contentsOf: [CounsellingField.jsonArray(organisation.fields), organisation.id.rawValue,
                                              organisation.id.rawValue])
        }
        _ = arguments.append(contentsOf: [limit])
        let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let moved = filter.organisationScope == nil ? "" : "WITH moved AS (SELECT item_id, max(id) AS since FROM audit "
            + "WHERE event = \(AuditEvent.accountOrganisationChanged.rawValue) GROUP BY item_id) "
        let sql = "\(moved)\(auditColumns) FROM audit \(condition) ORDER BY id DESC LIMIT ?"
        return try auditRows(db, sql: sql, arguments: arguments).reversed()
    }

    private static func auditRows(_ db: Database, sql: String, arguments: StatementArguments) throws -> [AuditEntry] {
        // At most 32 distinct statements (the filter combinations), so caching them is bounded.
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
            guard let event = AuditEvent(rawValue: row["event"]) else { throw ThreadStoreError.databaseCorrupt }
            var thread: ThreadID?
            if let text = row["thread_id"] as String? { thread = try ThreadID(text) }
            var actor: AccountID?
            if let text = row["actor_id"] as String? { actor = try AccountID(text) }
            return AuditEntry(
                sequence: row["id"],
                at: Date(storeMilliseconds: row["at"]),
                event: event,
                thread: thread,
                itemID: row["item_id"],
                count: row["count"],
                actor: actor,
                channel: (row["channel"] as Int?).flatMap { AuditChannel(code: $0, tokenID: row["token_id"]) }
            )
        }
    }
}
