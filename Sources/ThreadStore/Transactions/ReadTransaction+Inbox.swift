import Foundation
import Crypto
import GRDB

extension ReadTransaction {
    /// Most fields one ``listInbox(fields:state:limit:after:)`` call accepts.
    public static let maximumListedFields = InboxListing.maximumFields

    /// A page of threads of `fields` (`nil`: every field, for team leads), most recent activity first, with
    /// unread counts, inbox state and assignee, optionally only those in `state` and of an `assignment`.
    /// Decrypts nothing. Pass ``InboxCursor/init(after:)`` of the last thread as `after` for the next page.
    /// - Throws: ``ThreadStoreError/limitExceeded`` for a `limit` outside 1…`maximumPageSize` or too many fields.
    ///
    /// With `order` ``InboxOrder/longestWaiting`` the page holds only threads waiting for an answer, the longest
    /// waiting first (an index range on `waiting_since`); pass ``InboxCursor/init(after:order:)`` for the next page.
    /// The statements are ``InboxListing``'s, which the PostgreSQL engine runs too.
    public func listInbox(
        fields: Set<CounsellingField>?, state: InboxState? = nil, assignment: InboxAssignmentFilter? = nil,
        order: InboxOrder = .lastActivity, limit: Int = 50, after cursor: InboxCursor? = nil
    ) throws -> [InboxThread] {
        guard
            let listing = try InboxListing(fields: fields, state: state, assignment: assignment, order: order,
                                           limit: limit, after: cursor,
                                           maximumPageSize: context.configuration.maximumPageSize)
        else { return [] }
        return try listing.run(.sqlite) { query in
            try Row.fetchAll(db.cachedStatement(sql: query.sql), arguments: InboxQueries.arguments(query.values))
                .map(InboxQueries.thread(from:))
        }
    }

    /// The list entry of one thread, or nil. Decrypts nothing.
    public func inboxThread(_ id: ThreadID) throws -> InboxThread? {
        let query = InboxListing.entry(id, .sqlite)
        return try Row.fetchOne(db.cachedStatement(sql: query.sql), arguments: InboxQueries.arguments(query.values))
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
            try InboxMessage.open(
                SealedInboxMessage(id: record.id, direction: record.direction, verdict: record.verdict,
                                   receivedAt: record.receivedAt, isRead: record.isRead,
                                   subjectSealed: record.subjectSealed, bodySealed: record.bodySealed,
                                   signerSealed: record.signerSealed),
                key: key, thread: id, delivery: deliveries[record.id], attachments: attachments[record.id] ?? [])
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
            let info = SealedAttachmentInfo(position: row["position"], size: row["size"],
                                            nameSealed: row["name_sealed"], mediaTypeSealed: row["media_type_sealed"])
            attachments[messageID, default: []].append(
                try AttachmentRecord.openInfo(info, key: key, thread: id, message: messageID))
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
        let sealed = SealedAttachment(position: position, size: 0, nameSealed: row["name_sealed"],
                                      mediaTypeSealed: row["media_type_sealed"], contentSealed: row["content_sealed"])
        return try AttachmentRecord.openWhole(sealed, key: key, thread: thread, message: message)
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
        let others = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT id, created_at FROM thread
                WHERE field = ? AND client_address_hmac = ? AND client_key_hmac != ? AND id != ?
                ORDER BY created_at, id LIMIT 20
                """),
            arguments: [row["field"] as String, addressHMAC, row["client_key_hmac"] as Data, id.raw.text]
        ).map { other in
            guard let otherID = try? ThreadID(other["id"] as String) else { throw ThreadStoreError.databaseCorrupt }
            return (otherID, other["created_at"] as Int64)
        }
        return ClientKeyChange.of(id, createdAt: row["created_at"], others: others,
                                  confirmedAt: row["key_change_confirmed_at"])
    }
}

/// SQL shared by the inbox reads and writes.
enum InboxQueries {
    static let select = InboxListing.select(.sqlite)

    /// Which threads of an ``InboxOrder/waitingFirst`` list one query walks.
    typealias Part = InboxListing.Part

    /// One walk's statement of ``ReadTransaction/listInbox(fields:state:assignment:order:limit:after:)`` on SQLite
    /// (limits not checked: the query plan tests call it directly).
    static func list(fields: Set<CounsellingField>?, state: InboxState?, assignment: InboxAssignmentFilter?,
                     order: InboxOrder = .lastActivity, part: Part = .all, limit: Int, after cursor: InboxCursor?)
        -> (String, StatementArguments)
    {
        let query = InboxListing(unchecked: fields, state: state, assignment: assignment, order: order, limit: limit,
                                 after: cursor).query(.sqlite, part: part, limit: limit, after: cursor)
        return (query.sql, arguments(query.values))
    }

    static func arguments(_ values: [InboxQueryValue]) -> StatementArguments {
        StatementArguments(values.map { value -> any DatabaseValueConvertible in
            switch value {
            case .text(let text): text
            case .integer(let integer): integer
            }
        })
    }

    static func thread(from row: Row) throws -> InboxThread {
        guard let id = try? ThreadID(row["id"] as String), let field = try? CounsellingField(row["field"] as String)
        else { throw ThreadStoreError.databaseCorrupt }
        var assignee: AccountID?
        if let text = row["assigned_to"] as String? {
            guard let account = try? AccountID(text) else { throw ThreadStoreError.databaseCorrupt }
            assignee = account
        }
        return try InboxThread.stored(
            id: id, field: field, stateCode: row["state"], isNew: row["is_new"], createdAt: row["created_at"],
            lastActivityAt: row["last_activity_at"], messageCount: row["message_count"],
            unreadCount: row["unread_count"], assignedTo: assignee, firstViewedAt: row["first_viewed_at"],
            waitingSince: row["waiting_since"])
    }
}
