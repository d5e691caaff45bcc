import Foundation
import Crypto
import GRDB

extension ReadTransaction {
    /// Most fields one ``listInbox(fields:state:limit:after:)`` call accepts.
    public static let maximumListedFields = 64

    /// A page of threads of `fields` (`nil`: every field, for team leads), most recent activity first, with
    /// unread counts, inbox state and assignee, optionally only those in `state` and of an `assignment`.
    /// Decrypts nothing. Pass ``InboxCursor/init(after:)`` of the last thread as `after` for the next page.
    /// - Throws: ``ThreadStoreError/limitExceeded`` for a `limit` outside 1…`maximumPageSize` or too many fields.
    ///
    /// With `order` ``InboxOrder/longestWaiting`` the page holds only threads waiting for an answer, the longest
    /// waiting first (an index range on `waiting_since`); pass ``InboxCursor/init(after:order:)`` for the next page.
    public func listInbox(
        fields: Set<CounsellingField>?, state: InboxState? = nil, assignment: InboxAssignmentFilter? = nil,
        order: InboxOrder = .lastActivity, limit: Int = 50, after cursor: InboxCursor? = nil
    ) throws -> [InboxThread] {
        guard limit > 0, limit <= context.configuration.maximumPageSize else { throw ThreadStoreError.limitExceeded }
        if let fields {
            guard !fields.isEmpty else { return [] }
            guard fields.count <= Self.maximumListedFields else { throw ThreadStoreError.limitExceeded }
        }
        func fetch(_ part: InboxQueries.Part, _ limit: Int, _ cursor: InboxCursor?) throws -> [InboxThread] {
            let (sql, arguments) = InboxQueries.list(fields: fields, state: state, assignment: assignment,
                                                     order: order, part: part, limit: limit, after: cursor)
            return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
                .map(InboxQueries.thread(from:))
        }
        guard order == .waitingFirst else { return try fetch(.all, limit, cursor) }
        // Two keyset walks: the waiting threads (waiting index), then, on the same page if room is left, the rest
        // by activity. The cursor says which walk it continues.
        var threads: [InboxThread] = []
        if cursor?.inAnsweredPart != true { threads = try fetch(.waiting, limit, cursor) }
        if threads.count < limit {
            threads += try fetch(.notWaiting, limit - threads.count, cursor?.inAnsweredPart == true ? cursor : nil)
        }
        return threads
    }

    /// The list entry of one thread, or nil. Decrypts nothing.
    public func inboxThread(_ id: ThreadID) throws -> InboxThread? {
        try Row.fetchOne(db.cachedStatement(sql: InboxQueries.select + " WHERE t.id = ?"), arguments: [id.raw.text])
            .map(InboxQueries.thread(from:))
    }

    /// Decrypts one thread for display: client identity and one page of messages (oldest first) with their
    /// attachment metadata. Only the messages of the page are decrypted (keyset paging on `(received_at, id)`, an
    /// index range: the cost of a page does not grow with the thread); the rest are only counted.
    /// Attachment content stays sealed (see ``attachment(thread:message:position:)``).
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/limitExceeded`` for a page limit outside
    ///   1…``MessagePageRequest/maximumLimit``; ``ThreadStoreError/unsealingFailed`` if a value was altered.
    public func openInboxThread(_ id: ThreadID, page request: MessagePageRequest = MessagePageRequest()) throws
        -> InboxThreadView
    {
        guard request.limit > 0, request.limit <= MessagePageRequest.maximumLimit,
            request.limit <= context.configuration.maximumPageSize
        else { throw ThreadStoreError.limitExceeded }
        guard let thread = try inboxThread(id), let record = try ThreadRecord.fetch(db, id: id) else {
            throw ThreadStoreError.threadNotFound
        }
        let key = try Queries.dataKey(db, context: context, thread: id)
        let clientKey = try Sealing.openString(
            record.clientKeySealed, key: key, context: ThreadRecord.context("client_key_sealed", thread: id))
        let clientAddress = try Sealing.openString(
            record.clientAddressSealed, key: key, context: ThreadRecord.context("client_address_sealed", thread: id))

        let records = try MessagePageQueries.records(db, thread: id, request)
        let attachments = try pageAttachments(thread: id, messages: records.map(\.id), key: key)
        let deliveries = try ReplyDeliveryQueries.deliveries(
            db, messages: records.filter { $0.direction == .outbound }.map(\.id))
        let messages = try records.map { record in
            func context(_ column: String) -> SealContext {
                MessageRecord.context(column, thread: id, message: record.id)
            }
            return InboxMessage(
                id: record.id, direction: record.direction,
                subject: try Sealing.openString(record.subjectSealed, key: key, context: context("subject_sealed")),
                body: Array(try Sealing.open(record.bodySealed, key: key, context: context("body_sealed"))),
                attachments: attachments[record.id] ?? [], verdict: record.verdict,
                signer: try record.openSigner(key: key), receivedAt: Date(storeMilliseconds: record.receivedAt),
                wasRead: record.isRead, delivery: deliveries[record.id])
        }
        return InboxThreadView(
            thread: thread, clientKey: try Queries.clientKey(db, thread: id, sealed: clientKey),
            clientAddress: try ClientAddress(clientAddress), messages: messages,
            page: try MessagePageQueries.info(db, thread: id, page: records),
            keyChange: try clientKeyChange(of: id), heldReplies: try heldReplyIDs(in: id))
    }

    /// The attachment metadata (decrypted names and media types) of `messages`, at most one page of them.
    private func pageAttachments(thread id: ThreadID, messages: [StoredMessageID], key: SymmetricKey) throws
        -> [StoredMessageID: [AttachmentInfo]]
    {
        guard !messages.isEmpty else { return [:] }
        var attachments: [StoredMessageID: [AttachmentInfo]] = [:]
        let marks = Array(repeating: "?", count: messages.count).joined(separator: ", ")
        // Not a cached statement: its text varies with the page size.
        let attachmentRows = try Row.fetchCursor(
            db, sql: """
                SELECT a.message_id, a.position, a.size, a.name_sealed, a.media_type_sealed
                FROM attachment a JOIN message m ON m.id = a.message_id
                WHERE m.thread_id = ? AND a.message_id IN (\(marks)) ORDER BY a.message_id, a.position
                """,
            arguments: StatementArguments([id.raw.text] + messages.map(\.raw.text)))
        while let row = try attachmentRows.next() {
            guard let messageID = try? StoredMessageID(row["message_id"] as String) else {
                throw ThreadStoreError.databaseCorrupt
            }
            let position: Int = row["position"]
            let name = try Sealing.openString(
                row["name_sealed"], key: key,
                context: AttachmentRecord.context("name_sealed", thread: id, message: messageID, position: position))
            let mediaType = try Sealing.openString(
                row["media_type_sealed"], key: key,
                context: AttachmentRecord.context("media_type_sealed", thread: id, message: messageID,
                                                  position: position))
            attachments[messageID, default: []].append(
                AttachmentInfo(position: position, name: name, mediaType: mediaType, size: row["size"]))
        }
        return attachments
    }

    /// Decrypts one attachment (name, media type, content) of a message in `thread`, and nothing else.
    /// - Throws: ``ThreadStoreError/messageNotFound`` if the message is not in `thread` or has no such attachment;
    ///   ``ThreadStoreError/threadNotFound`` if the thread is gone.
    public func attachment(thread: ThreadID, message: StoredMessageID, position: Int) throws -> StoredAttachment {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT a.name_sealed, a.media_type_sealed, a.content_sealed
                    FROM attachment a JOIN message m ON m.id = a.message_id
                    WHERE m.thread_id = ? AND a.message_id = ? AND a.position = ?
                    """),
                arguments: [thread.raw.text, message.raw.text, position])
        else { throw ThreadStoreError.messageNotFound }
        let key = try Queries.dataKey(db, context: context, thread: thread)
        func open(_ column: String) throws(ThreadStoreError) -> Data {
            try Sealing.open(row[column], key: key, context: AttachmentRecord.context(
                column, thread: thread, message: message, position: position))
        }
        guard let name = String(data: try open("name_sealed"), encoding: .utf8),
            let mediaType = String(data: try open("media_type_sealed"), encoding: .utf8)
        else { throw ThreadStoreError.unsealingFailed }
        return StoredAttachment(name: name, mediaType: mediaType, content: Array(try open("content_sealed")))
    }

    /// Decrypts the body (raw MIME entity) of one message of `thread`, and nothing else.
    /// - Throws: ``ThreadStoreError/messageNotFound`` if the message is not in `thread`.
    public func messageBody(thread: ThreadID, message: StoredMessageID) throws -> [UInt8] {
        guard
            let sealed = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT body_sealed FROM message WHERE id = ? AND thread_id = ?"),
                arguments: [message.raw.text, thread.raw.text])
        else { throw ThreadStoreError.messageNotFound }
        let key = try Queries.dataKey(db, context: context, thread: thread)
        return Array(try Sealing.open(
            sealed, key: key, context: MessageRecord.context("body_sealed", thread: thread, message: message)))
    }

    /// The display names of accounts (for showing assignees); unknown IDs are left out. At most 500 IDs.
    public func displayNames(of accounts: Set<AccountID>) throws -> [AccountID: String] {
        guard !accounts.isEmpty else { return [:] }
        guard accounts.count <= 500 else { throw ThreadStoreError.limitExceeded }
        let ids = accounts.map(\.unredactedDescription).sorted()
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        let rows = try Row.fetchAll(
            db, sql: "SELECT id, display_name FROM account WHERE id IN (\(marks))", arguments: StatementArguments(ids))
        var names: [AccountID: String] = [:]
        for row in rows {
            guard let id = try? AccountID(row["id"] as String) else { throw ThreadStoreError.databaseCorrupt }
            names[id] = row["display_name"]
        }
        return names
    }

    /// Other threads of the same field written from the same client address (keyed HMAC) with a different client
    /// key, or nil if there are none. The pipeline starts a new thread when a known address writes with a new
    /// key (threads belong to one key); this makes that visible so a counsellor can check the change.
    /// Decrypts nothing.
    public func clientKeyChange(of id: ThreadID) throws -> ClientKeyChange? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT field, client_key_hmac, client_address_hmac, created_at, key_change_confirmed_at
                    FROM thread WHERE id = ?
                    """),
                arguments: [id.raw.text])
        else { throw ThreadStoreError.threadNotFound }
        guard let addressHMAC = row["client_address_hmac"] as Data? else { return nil }  // before v3: unknown
        let createdAt: Int64 = row["created_at"]
        let others = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT id, created_at FROM thread
                WHERE field = ? AND client_address_hmac = ? AND client_key_hmac != ? AND id != ?
                ORDER BY created_at, id LIMIT 20
                """),
            arguments: [row["field"] as String, addressHMAC, row["client_key_hmac"] as Data, id.raw.text]
        ).map { other in
            guard let otherID = try? ThreadID(other["id"] as String) else { throw ThreadStoreError.databaseCorrupt }
            let otherCreated: Int64 = other["created_at"]
            return KeyChangeThread(id: otherID, createdAt: Date(storeMilliseconds: otherCreated),
                                   isEarlier: otherCreated < createdAt
                                       || (otherCreated == createdAt && otherID.raw.text < id.raw.text))
        }
        guard !others.isEmpty else { return nil }
        let confirmed = (row["key_change_confirmed_at"] as Int64?).map(Date.init(storeMilliseconds:))
        return ClientKeyChange(otherThreads: others, confirmedAt: confirmed)
    }
}

/// SQL shared by the inbox reads and writes.
enum InboxQueries {
    static let answered = "EXISTS (SELECT 1 FROM message o WHERE o.thread_id = t.id AND o.direction = 1)"
    /// "new": open, never opened, no counsellor reply.
    static let isNew = "(t.state = 0 AND t.first_viewed_at IS NULL AND NOT \(answered))"

    static let select = """
        SELECT t.id, t.field, t.state, t.created_at, t.last_activity_at, t.assigned_to, t.first_viewed_at,
            t.waiting_since,
            (SELECT count(*) FROM message m WHERE m.thread_id = t.id) AS message_count,
            (SELECT count(*) FROM message m WHERE m.thread_id = t.id AND m.is_read = 0) AS unread_count,
            \(isNew) AS is_new
        FROM thread t
        """

    /// The list query of ``ReadTransaction/listInbox(fields:state:assignment:limit:after:)`` (checked limits).
    /// Every variant walks an index backwards (no sort); `InboxPagingTests` checks the assignee plans.
    /// Which threads of an ``InboxOrder/waitingFirst`` list one query walks.
    enum Part {
        /// Everything the other filters let through (every other order).
        case all
        /// Threads waiting for an answer that are not closed, the longest waiting first.
        case waiting
        /// The others (answered or closed), most recent activity first.
        case notWaiting
    }

    static func list(fields: Set<CounsellingField>?, state: InboxState?, assignment: InboxAssignmentFilter?,
                     order: InboxOrder = .lastActivity, part: Part = .all, limit: Int, after cursor: InboxCursor?)
        -> (String, StatementArguments)
    {
        // A waiting-first list is two walks: the waiting part as the longest-waiting order (open and
        // awaiting-client threads only), the rest as the last-activity order.
        var order = order
        switch (order, part) {
        case (.waitingFirst, .waiting), (.waitingFirst, .all): order = .longestWaiting
        case (.waitingFirst, .notWaiting): order = .lastActivity
        default: break
        }
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let fields {
            let sorted = fields.map(\.rawValue).sorted()
            conditions.append("t.field IN (\(Array(repeating: "?", count: sorted.count).joined(separator: ", ")))")
            arguments += StatementArguments(sorted)
        }
        if let state {
            conditions.append(condition(for: state))
            arguments += self.arguments(for: state)
        }
        switch assignment {
        case .assignedTo(let account):
            conditions.append("t.assigned_to = ?")
            arguments += [account.unredactedDescription]
        case .unassigned:
            conditions.append("t.assigned_to IS NULL")
        case nil:
            break
        }
        if order == .longestWaiting { conditions.append("t.waiting_since IS NOT NULL") }
        switch part {
        case .all: break
        case .waiting: conditions.append("t.state != \(ThreadState.closed.rawValue)")
        case .notWaiting: conditions.append("(t.waiting_since IS NULL OR t.state = \(ThreadState.closed.rawValue))")
        }
        if let cursor {
            switch order {
            case .lastActivity, .waitingFirst: conditions.append("(t.last_activity_at, t.id) < (?, ?)")
            case .longestWaiting: conditions.append("(t.waiting_since, t.id) > (?, ?)")
            }
            arguments += [cursor.lastActivityMilliseconds, cursor.id.unredactedDescription]
        }
        var sql = select
        // Without statistics SQLite would rather filter by field and sort; the partial index is the keyset order.
        if order == .longestWaiting { sql += " INDEXED BY thread_by_waiting" }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        switch order {
        case .lastActivity, .waitingFirst: sql += " ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?"
        case .longestWaiting: sql += " ORDER BY t.waiting_since, t.id LIMIT ?"
        }
        arguments += [limit]
        return (sql, arguments)
    }

    static func condition(for state: InboxState) -> String {
        switch state {
        case .new: isNew
        case .open: "(t.state = ? AND NOT \(isNew))"
        case .awaitingClient, .closed: "t.state = ?"
        }
    }

    static func arguments(for state: InboxState) -> StatementArguments {
        switch state {
        case .new: []
        case .open: [ThreadState.open.rawValue]
        case .awaitingClient: [ThreadState.awaitingClient.rawValue]
        case .closed: [ThreadState.closed.rawValue]
        }
    }

    static func thread(from row: Row) throws -> InboxThread {
        let summary = try Queries.summary(from: row)
        var assignee: AccountID?
        if let text = row["assigned_to"] as String? {
            guard let id = try? AccountID(text) else { throw ThreadStoreError.databaseCorrupt }
            assignee = id
        }
        let state: InboxState =
            switch summary.state {
            case .open: (row["is_new"] as Bool) ? .new : .open
            case .awaitingClient: .awaitingClient
            case .closed: .closed
            }
        var thread = InboxThread(summary: summary, state: state, assignedTo: assignee,
                                 firstViewedAt: (row["first_viewed_at"] as Int64?).map(Date.init(storeMilliseconds:)))
        thread.waitingSince = (row["waiting_since"] as Int64?).map(Date.init(storeMilliseconds:))
        return thread
    }
}
