// Security: the counsellor inbox's statements on PostgreSQL, as ThreadStore's SQLite reads and writes them. Rows
// leave the database sealed and are opened by the caller with StoreSecrets; the list reads IDs, codes, times and
// counts only. Audit rows name actor, channel, thread and opaque IDs. Nothing is logged but SQLSTATE codes.

import Foundation
import Logging
import NIOCore
import PostgresNIO
import ThreadStore

/// A thread's sealed columns an opened inbox page needs.
struct SealedInboxThread: Sendable {
    var clientKeySealed: Data
    var clientAddressSealed: Data
    var awaitingKey: Bool
    var wrappedKey: Data
}

extension PostgresThreadRows {
    // MARK: The list

    func inboxThreads(_ query: InboxListQuery) async throws -> [InboxThread] {
        var binds = PostgresBindings()
        for value in query.values {
            switch value {
            case .text(let text): binds.append(text)
            case .integer(let integer): binds.append(integer)
            }
        }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: query.sql, binds: binds), logger: logger)
        var threads: [InboxThread] = []
        for try await (id, field, state, created, activity, assignee, viewed, waiting, messages, unread, isNew)
            in rows.decode((String, String, Int, Int64, Int64, String?, Int64?, Int64?, Int64, Int64, Bool).self)
        {
            threads.append(try InboxThread.stored(
                id: try ThreadID(id), field: try CounsellingField(field), stateCode: state, isNew: isNew,
                createdAt: created, lastActivityAt: activity, messageCount: Int(messages), unreadCount: Int(unread),
                assignedTo: try assignee.map { try AccountID($0) }, firstViewedAt: viewed, waitingSince: waiting))
        }
        return threads
    }

    /// The list entry of a thread in `scope`, or nil.
    func inboxThread(_ id: ThreadID, in scope: InboxScope) async throws -> InboxThread? {
        let threads = try await inboxThreads(InboxListing.entry(id, .postgresql))
        guard let thread = threads.first, scope.includes(thread.summary.field) else { return nil }
        return thread
    }

    @discardableResult
    func requireInboxThread(_ id: ThreadID, in scope: InboxScope) async throws -> InboxThread {
        guard let thread = try await inboxThread(id, in: scope) else { throw ThreadStoreError.threadNotFound }
        return thread
    }

    // MARK: An opened page

    func sealedInboxThread(_ id: ThreadID) async throws -> SealedInboxThread {
        let rows = try await connection.query("""
            SELECT t.client_key_sealed, t.client_address_sealed, t.awaiting_key, k.wrapped_key
            FROM thread t JOIN thread_key k ON k.thread_id = t.id WHERE t.id = \(id.unredactedDescription)
            """, logger: logger)
        for try await (key, address, awaiting, wrapped) in rows.decode((Data, Data, Bool, Data).self) {
            return SealedInboxThread(clientKeySealed: key, clientAddressSealed: address, awaitingKey: awaiting,
                                     wrappedKey: wrapped)
        }
        throw ThreadStoreError.threadNotFound
    }

    /// The sealed messages of one page, oldest first (keyset paging on `(received_at, id)`, as on SQLite).
    func pageMessages(_ thread: ThreadID, _ request: MessagePageRequest) async throws -> [SealedInboxMessage] {
        let id = thread.unredactedDescription
        let columns = "id, direction, verdict, received_at, is_read, subject_sealed, body_sealed, signer_sealed"
        let rows: PostgresRowSequence
        switch request.anchor {
        case .newest:
            rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT \(columns) FROM message WHERE thread_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2
                """, binds: Self.binds(id, Int64(request.limit))), logger: logger)
        case .before(let cursor):
            rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT \(columns) FROM message WHERE thread_id = $1 AND (received_at, id) < ($2, $3)
                ORDER BY received_at DESC, id DESC LIMIT $4
                """, binds: Self.binds(id, cursor.receivedAtMilliseconds, cursor.id.unredactedDescription,
                                       Int64(request.limit))), logger: logger)
        case .after(let cursor):
            rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT \(columns) FROM message WHERE thread_id = $1 AND (received_at, id) > ($2, $3)
                ORDER BY received_at, id LIMIT $4
                """, binds: Self.binds(id, cursor.receivedAtMilliseconds, cursor.id.unredactedDescription,
                                       Int64(request.limit))), logger: logger)
        }
        var messages: [SealedInboxMessage] = []
        for try await (message, direction, verdict, received, isRead, subject, body, signer)
            in rows.decode((String, Int, Int, Int64, Bool, Data, Data, Data?).self)
        {
            guard let direction = MessageDirection(rawValue: direction),
                let verdict = SignatureVerdictCode(rawValue: verdict)
            else { throw ThreadStoreError.databaseCorrupt }
            messages.append(SealedInboxMessage(
                id: try StoredMessageID(message), direction: direction, verdict: verdict, receivedAt: received,
                isRead: isRead, subjectSealed: subject, bodySealed: body, signerSealed: signer))
        }
        if case .after = request.anchor { return messages }
        return messages.reversed()
    }

    /// The sealed attachment metadata of `messages` (one page of them).
    func pageAttachments(_ thread: ThreadID, messages: [StoredMessageID]) async throws
        -> [StoredMessageID: [SealedAttachmentInfo]]
    {
        guard !messages.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT a.message_id, a.position, a.size, a.name_sealed, a.media_type_sealed
            FROM attachment a JOIN message m ON m.id = a.message_id
            WHERE m.thread_id = \(thread.unredactedDescription) AND a.message_id = ANY(\(messages.map(\.unredactedDescription)))
            ORDER BY a.message_id, a.position
            """, logger: logger)
        var attachments: [StoredMessageID: [SealedAttachmentInfo]] = [:]
        for try await (message, position, size, name, mediaType)
            in rows.decode((String, Int, Int, Data, Data).self)
        {
            attachments[try StoredMessageID(message), default: []].append(
                SealedAttachmentInfo(position: position, size: size, nameSealed: name, mediaTypeSealed: mediaType))
        }
        return attachments
    }

    /// Author and delivery state of the outbound `messages` of one page.
    func deliveries(_ messages: [StoredMessageID]) async throws -> [StoredMessageID: ReplyDelivery] {
        guard !messages.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT r.message_id, r.author_id, r.state, h.message_id IS NOT NULL
            FROM reply_delivery r LEFT JOIN held_reply h ON h.message_id = r.message_id
            WHERE r.message_id = ANY(\(messages.map(\.unredactedDescription)))
            """, logger: logger)
        var deliveries: [StoredMessageID: ReplyDelivery] = [:]
        for try await (message, author, state, held) in rows.decode((String, String?, Int?, Bool).self) {
            deliveries[try StoredMessageID(message)] = ReplyDelivery.stored(
                author: try author.map { try AccountID($0) }, stateCode: state, held: held)
        }
        return deliveries
    }

    /// Counts and cursors around a page (oldest first), as `MessagePageQueries.info` on SQLite.
    func pageInfo(_ thread: ThreadID, page: [SealedInboxMessage]) async throws -> MessagePageInfo {
        guard let first = page.first, let last = page.last else { return MessagePageInfo.around(
            first: nil, last: nil, earlier: (0, 0), later: (0, 0)) }
        func count(_ comparison: String, _ message: SealedInboxMessage) async throws -> (all: Int, unread: Int) {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT count(*), count(*) FILTER (WHERE NOT is_read) FROM message
                WHERE thread_id = $1 AND (received_at, id) \(comparison) ($2, $3)
                """, binds: Self.binds(thread.unredactedDescription, message.receivedAt,
                                       message.id.unredactedDescription)), logger: logger)
            for try await (all, unread) in rows.decode((Int64, Int64).self) { return (Int(all), Int(unread)) }
            return (0, 0)
        }
        return MessagePageInfo.around(first: first.position, last: last.position,
                                      earlier: try await count("<", first), later: try await count(">", last))
    }

    /// ``ReadTransaction/clientKeyChange(of:)`` on keyed HMACs only.
    func clientKeyChange(of thread: ThreadID) async throws -> ClientKeyChange? {
        let id = thread.unredactedDescription
        let rows = try await connection.query("""
            SELECT field, client_key_hmac, client_address_hmac, created_at, key_change_confirmed_at
            FROM thread WHERE id = \(id)
            """, logger: logger)
        var found: (String, Data, Data?, Int64, Int64?)?
        for try await row in rows.decode((String, Data, Data?, Int64, Int64?).self) { found = row }
        guard let (field, keyHMAC, addressHMAC, createdAt, confirmedAt) = found else {
            throw ThreadStoreError.threadNotFound
        }
        guard let addressHMAC else { return nil }
        let others = try await connection.query("""
            SELECT id, created_at FROM thread
            WHERE field = \(field) AND client_address_hmac = \(addressHMAC) AND client_key_hmac != \(keyHMAC)
                AND id != \(id)
            ORDER BY created_at, id LIMIT 20
            """, logger: logger)
        var threads: [(ThreadID, Int64)] = []
        for try await (other, created) in others.decode((String, Int64).self) {
            threads.append((try ThreadID(other), created))
        }
        return ClientKeyChange.of(thread, createdAt: createdAt, others: threads, confirmedAt: confirmedAt)
    }

    /// The held replies of a thread, oldest first.
    func heldReplyIDs(_ thread: ThreadID) async throws -> [StoredMessageID] {
        let rows = try await connection.query("""
            SELECT h.message_id FROM held_reply h JOIN message m ON m.id = h.message_id
            WHERE h.thread_id = \(thread.unredactedDescription) ORDER BY m.received_at, m.id
            """, logger: logger)
        var ids: [StoredMessageID] = []
        for try await id in rows.decode(String.self) { ids.append(try StoredMessageID(id)) }
        return ids
    }

    // MARK: Writing

    /// ``WriteTransaction/recordThreadRead(_:actor:event:shown:)`` with the shown messages.
    func recordThreadRead(_ thread: ThreadID, actor: AccountID, channel: AuditChannel?, event: AuditEvent,
                          shown: [StoredMessageID]) async throws {
        guard event == .threadViewed || event == .threadExported else { throw ThreadStoreError(.invalidValue) }
        let id = thread.unredactedDescription
        if !shown.isEmpty {
            try await connection.query("""
                UPDATE message SET is_read = TRUE
                WHERE thread_id = \(id) AND id = ANY(\(shown.map(\.unredactedDescription))) AND NOT is_read
                """, logger: logger)
        }
        try await connection.query("""
            UPDATE thread SET first_viewed_at = coalesce(first_viewed_at, \(StoreTime.milliseconds(now))) WHERE id = \(id)
            """, logger: logger)
        try await auditAccess(event, actor: actor, channel: channel, thread: thread,
                              itemID: shown.first?.unredactedDescription, count: shown.count)
    }

    /// ``WriteTransaction/setState(_:of:actor:)``: the stored state, audited with the actor.
    func setState(_ state: ThreadState, of thread: ThreadID, actor: AccountID?, channel: AuditChannel?)
        async throws
    {
        try await connection.query(
            "UPDATE thread SET state = \(state.rawValue) WHERE id = \(thread.unredactedDescription)", logger: logger)
        try await auditAccess(.threadStateChanged, actor: actor, channel: channel, thread: thread,
                              count: state.rawValue)
    }

    /// ``WriteTransaction/assign(_:to:actor:)`` once the caller checked the account: audited with the account (nil:
    /// unassigned) as item.
    func assign(_ thread: ThreadID, to account: AccountID?, actor: AccountID?, channel: AuditChannel?) async throws {
        try await connection.query("""
            UPDATE thread SET assigned_to = \(account?.unredactedDescription) WHERE id = \(thread.unredactedDescription)
            """, logger: logger)
        try await auditAccess(.threadAssigned, actor: actor, channel: channel, thread: thread,
                              itemID: account?.unredactedDescription)
    }

    /// Crypto-shreds a thread (as `shred` on SQLite): its wrapped data key, then the thread, whose messages,
    /// attachments, outbox items and held replies go by cascade; audited `event`.
    func shred(_ thread: ThreadID, event: AuditEvent, actor: AccountID?, channel: AuditChannel?) async throws {
        let id = thread.unredactedDescription
        try await connection.query("DELETE FROM thread_key WHERE thread_id = \(id)", logger: logger)
        try await connection.query("DELETE FROM thread WHERE id = \(id)", logger: logger)
        try await auditAccess(event, actor: actor, channel: channel, thread: thread)
    }

    /// Appends an audit row of what an account did (``WriteTransaction/recordAccess(_:actor:thread:itemID:count:)``).
    func auditAccess(_ event: AuditEvent, actor: AccountID?, channel: AuditChannel?, thread: ThreadID?,
                     itemID: String? = nil, count: Int? = nil) async throws {
        try await connection.query("""
            INSERT INTO audit (at, event, thread_id, item_id, count, actor_id, channel, token_id)
            VALUES (\(StoreTime.milliseconds(now)), \(event.rawValue), \(thread?.unredactedDescription), \(itemID),
                    \(count), \(actor?.unredactedDescription), \(channel?.storedCode), \(channel?.storedTokenID))
            """, logger: logger)
    }

    static func binds(_ values: any PostgresNonThrowingEncodable...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }
}
