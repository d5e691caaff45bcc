// Security: opening a page of a thread on PostgreSQL in one statement (issue 21). The scope check is part of the
// statement: every other part reads or writes only when the thread is in the actor's fields, so a thread outside
// them returns no row, as a missing one. The audit row and the read marks are written by the same statement, in
// the caller's transaction, before anything is opened; rows leave the database sealed. Every value is a bound
// parameter; nothing is logged but SQLSTATE codes.

import Foundation
import Logging
import NIOCore
import PostgresNIO
import ThreadStore

/// A page of a thread as the open statement returned it, still sealed, after the statement wrote its audit row.
struct SealedInboxPage: Sendable {
    var thread: InboxThread
    var sealed: SealedInboxThread
    var messages: [Message]
    /// Messages (all, unread before this view) older and newer than the page.
    var earlier: (all: Int, unread: Int)
    var later: (all: Int, unread: Int)
    var keyChange: ClientKeyChange?
    var heldReplies: [StoredMessageID]

    struct Message: Sendable {
        var sealed: SealedInboxMessage
        var attachments: [SealedAttachmentInfo]
        var delivery: ReplyDelivery?
    }

    /// Counts and cursors around the page.
    var page: MessagePageInfo {
        MessagePageInfo.around(first: messages.first?.sealed.position, last: messages.last?.sealed.position,
                               earlier: earlier, later: later)
    }
}

extension PostgresThreadRows {
    /// Reads the page `request` of thread `id` if it is in `scope`, marks its messages read, sets the thread's first
    /// view and appends the audit row (`event`, item: the page's oldest message, count: its messages), all in one
    /// statement: what `requireInboxThread`, `sealedInboxThread`, `pageMessages`, `pageAttachments`,
    /// `deliveries`, `pageInfo`, `clientKeyChange`, `heldReplyIDs` and `recordThreadRead` did in 13 round trips.
    /// Each round trip between two processes costs more than the statements' work (BENCHMARKS.md, "Thread list
    /// and open on PostgreSQL"). All parts see the statement's one snapshot, taken before its writes, as the
    /// separate statements saw the rows before `recordThreadRead`.
    /// - Throws: ``ThreadStoreError/threadNotFound`` (missing, no data key, or outside `scope`).
    func openInboxPage(_ id: ThreadID, _ request: MessagePageRequest, scope: InboxScope, actor: AccountID,
                       channel: AuditChannel?, event: AuditEvent) async throws -> SealedInboxPage {
        let rows = try await connection.query(Self.openStatement(
            id, request, scope: scope, now: StoreTime.milliseconds(now), event: event, actor: actor,
            channel: channel), logger: logger)
        var opened: SealedInboxPage?
        for try await row in rows {
            let row = row.makeRandomAccess()
            if opened == nil { opened = try Self.threadColumns(row, id) }
            if let message = try Self.messageColumns(row) { opened?.messages.append(message) }
        }
        guard let opened, scope.includes(opened.thread.summary.field) else { throw ThreadStoreError.threadNotFound }
        return opened
    }

    /// The statement of ``openInboxPage(_:_:scope:actor:channel:event:)``. `opened` is the scope check (and the
    /// data key); every later part is gated on it. The page is `MessagePageRequest`'s keyset page, as
    /// `pageMessages` read it; the rows come back oldest first, one per message (one with empty message columns
    /// for a thread without messages), each with the thread's columns.
    static func openStatement(_ id: ThreadID, _ request: MessagePageRequest, scope: InboxScope, now: Int64,
                              event: AuditEvent, actor: AccountID, channel: AuditChannel?) -> PostgresQuery {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        func bindOptional(_ value: (some PostgresDynamicTypeEncodable)?) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        let thread = bind(id.unredactedDescription)
        let everyField = bind(scope.fields == nil)
        let fields = bind((scope.fields ?? []).map(\.rawValue).sorted())
        let time = bind(now)
        let limit = bind(Int64(request.limit))
        let page: String
        switch request.anchor {
        case .newest:
            page = "ORDER BY m.received_at DESC, m.id DESC LIMIT \(limit)"
        case .before(let cursor):
            page = """
                AND (m.received_at, m.id) < (\(bind(cursor.receivedAtMilliseconds)), \
                \(bind(cursor.id.unredactedDescription))) ORDER BY m.received_at DESC, m.id DESC LIMIT \(limit)
                """
        case .after(let cursor):
            page = """
                AND (m.received_at, m.id) > (\(bind(cursor.receivedAtMilliseconds)), \
                \(bind(cursor.id.unredactedDescription))) ORDER BY m.received_at, m.id LIMIT \(limit)
                """
        }
        // A NULL is bound without a type: the casts give channel and token theirs.
        let (eventCode, actorID) = (bind(Int64(event.rawValue)), bind(actor.unredactedDescription))
        let (code, token) = (bindOptional(channel.map { Int64($0.storedCode) }), bindOptional(channel?.storedTokenID))
        let audit = """
            \(time), \(eventCode), \(thread), (SELECT id FROM page ORDER BY received_at, id LIMIT 1),
                    (SELECT count(*) FROM page), \(actorID), \(code)::smallint, \(token)::text
            """
        // `outbound` as `InboxListing.answered`: direction 1.
        let sql = """
            WITH opened AS (
                SELECT t.client_key_sealed, t.client_address_sealed, t.awaiting_key, k.wrapped_key, t.field,
                    t.client_key_hmac, t.client_address_hmac, t.key_change_confirmed_at
                FROM thread t JOIN thread_key k ON k.thread_id = t.id
                WHERE t.id = \(thread) AND (\(everyField) OR t.field = ANY(\(fields)))
            ),
            entry AS (\(InboxListing.select(.postgresql)) WHERE t.id = \(thread) AND EXISTS (SELECT FROM opened)),
            page AS (
                SELECT m.id, m.direction, m.verdict, m.received_at, m.is_read, m.subject_sealed, m.body_sealed,
                    m.signer_sealed
                FROM message m WHERE m.thread_id = \(thread) AND EXISTS (SELECT FROM opened) \(page)
            ),
            marked AS (
                UPDATE message SET is_read = TRUE
                WHERE thread_id = \(thread) AND id IN (SELECT id FROM page) AND NOT is_read
            ),
            viewed AS (
                UPDATE thread SET first_viewed_at = coalesce(first_viewed_at, \(time))
                WHERE id = \(thread) AND EXISTS (SELECT FROM opened)
            ),
            audited AS (
                INSERT INTO audit (at, event, thread_id, item_id, count, actor_id, channel, token_id)
                SELECT \(audit) FROM opened
                RETURNING id
            ),
            earlier AS (
                SELECT count(*) AS all_count, count(*) FILTER (WHERE NOT c.is_read) AS unread_count
                FROM (SELECT received_at, id FROM page ORDER BY received_at, id LIMIT 1) f
                    JOIN message c ON c.thread_id = \(thread) AND (c.received_at, c.id) < (f.received_at, f.id)
            ),
            later AS (
                SELECT count(*) AS all_count, count(*) FILTER (WHERE NOT c.is_read) AS unread_count
                FROM (SELECT received_at, id FROM page ORDER BY received_at DESC, id DESC LIMIT 1) l
                    JOIN message c ON c.thread_id = \(thread) AND (c.received_at, c.id) > (l.received_at, l.id)
            ),
            others AS (
                SELECT o.id, o.created_at
                FROM opened s JOIN thread o ON o.field = s.field AND o.client_address_hmac = s.client_address_hmac
                    AND o.client_key_hmac != s.client_key_hmac AND o.id != \(thread)
                ORDER BY o.created_at, o.id LIMIT 20
            ),
            held AS (
                SELECT h.message_id, m.received_at FROM held_reply h JOIN message m ON m.id = h.message_id
                WHERE h.thread_id = \(thread) AND EXISTS (SELECT FROM opened)
            )
            SELECT e.field, e.state, e.created_at, e.last_activity_at, e.assigned_to, e.first_viewed_at,
                e.waiting_since, e.message_count, e.unread_count, e.is_new,
                o.client_key_sealed, o.client_address_sealed, o.awaiting_key, o.wrapped_key,
                o.key_change_confirmed_at,
                (SELECT count(*) FROM audited) AS audited,
                earlier.all_count AS earlier_count, earlier.unread_count AS earlier_unread,
                later.all_count AS later_count, later.unread_count AS later_unread,
                (SELECT coalesce(array_agg(id ORDER BY created_at, id), '{}') FROM others) AS other_ids,
                (SELECT coalesce(array_agg(created_at ORDER BY created_at, id), '{}') FROM others) AS other_created,
                (SELECT coalesce(array_agg(message_id ORDER BY received_at, message_id), '{}') FROM held)
                    AS held_ids,
                p.id AS message_id, p.direction, p.verdict, p.received_at, p.is_read, p.subject_sealed,
                p.body_sealed, p.signer_sealed,
                r.message_id IS NOT NULL AS has_delivery, r.author_id, r.state AS delivery_state,
                hr.message_id IS NOT NULL AS delivery_held,
                a.positions, a.sizes, a.names, a.media_types
            FROM entry e CROSS JOIN opened o CROSS JOIN earlier CROSS JOIN later
                LEFT JOIN page p ON TRUE
                LEFT JOIN reply_delivery r ON r.message_id = p.id AND p.direction = 1
                LEFT JOIN held_reply hr ON hr.message_id = r.message_id
                LEFT JOIN LATERAL (
                    SELECT array_agg(x.position::bigint ORDER BY x.position) AS positions,
                        array_agg(x.size ORDER BY x.position) AS sizes,
                        array_agg(x.name_sealed ORDER BY x.position) AS names,
                        array_agg(x.media_type_sealed ORDER BY x.position) AS media_types
                    FROM attachment x WHERE x.message_id = p.id
                ) a ON TRUE
            ORDER BY p.received_at, p.id
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The thread's columns (the same in every row): list entry, sealed columns, counts around the page, key
    /// change and held replies.
    private static func threadColumns(_ row: PostgresRandomAccessRow, _ id: ThreadID) throws -> SealedInboxPage {
        // The audit row is in the transaction before anything is opened (the InboxStore guarantee).
        guard try row["audited"].decode(Int64.self) == 1 else { throw ThreadStoreError.databaseCorrupt }
        let thread = try InboxThread.stored(
            id: id, field: try CounsellingField(try row["field"].decode(String.self)),
            stateCode: try row["state"].decode(Int.self), isNew: try row["is_new"].decode(Bool.self),
            createdAt: try row["created_at"].decode(Int64.self),
            lastActivityAt: try row["last_activity_at"].decode(Int64.self),
            messageCount: Int(try row["message_count"].decode(Int64.self)),
            unreadCount: Int(try row["unread_count"].decode(Int64.self)),
            assignedTo: try row["assigned_to"].decode(String?.self).map { try AccountID($0) },
            firstViewedAt: try row["first_viewed_at"].decode(Int64?.self),
            waitingSince: try row["waiting_since"].decode(Int64?.self))
        let others = zip(try row["other_ids"].decode([String].self), try row["other_created"].decode([Int64].self))
        return SealedInboxPage(
            thread: thread,
            sealed: SealedInboxThread(
                clientKeySealed: try row["client_key_sealed"].decode(Data.self),
                clientAddressSealed: try row["client_address_sealed"].decode(Data.self),
                awaitingKey: try row["awaiting_key"].decode(Bool.self),
                wrappedKey: try row["wrapped_key"].decode(Data.self)),
            messages: [],
            earlier: (Int(try row["earlier_count"].decode(Int64.self)),
                      Int(try row["earlier_unread"].decode(Int64.self))),
            later: (Int(try row["later_count"].decode(Int64.self)), Int(try row["later_unread"].decode(Int64.self))),
            keyChange: ClientKeyChange.of(
                id, createdAt: try row["created_at"].decode(Int64.self),
                others: try others.map { other, created in (try ThreadID(other), created) },
                confirmedAt: try row["key_change_confirmed_at"].decode(Int64?.self)),
            heldReplies: try row["held_ids"].decode([String].self).map { try StoredMessageID($0) })
    }

    /// The message of a row, nil in the one row of a thread without messages.
    private static func messageColumns(_ row: PostgresRandomAccessRow) throws -> SealedInboxPage.Message? {
        guard let id = try row["message_id"].decode(String?.self) else { return nil }
        guard let direction = MessageDirection(rawValue: try row["direction"].decode(Int.self)),
            let verdict = SignatureVerdictCode(rawValue: try row["verdict"].decode(Int.self))
        else { throw ThreadStoreError.databaseCorrupt }
        let message = try StoredMessageID(id)
        var attachments: [SealedAttachmentInfo] = []
        if let positions = try row["positions"].decode([Int64]?.self) {
            let sizes = try row["sizes"].decode([Int64].self)
            let names = try row["names"].decode([ByteBuffer].self)
            let mediaTypes = try row["media_types"].decode([ByteBuffer].self)
            guard sizes.count == positions.count, names.count == positions.count,
                mediaTypes.count == positions.count
            else { throw ThreadStoreError.databaseCorrupt }
            attachments = positions.indices.map { index in
                SealedAttachmentInfo(position: Int(positions[index]), size: Int(sizes[index]),
                                     nameSealed: Data(names[index].readableBytesView),
                                     mediaTypeSealed: Data(mediaTypes[index].readableBytesView))
            }
        }
        var delivery: ReplyDelivery?
        if try row["has_delivery"].decode(Bool.self) {
            delivery = ReplyDelivery.stored(
                author: try row["author_id"].decode(String?.self).map { try AccountID($0) },
                stateCode: try row["delivery_state"].decode(Int?.self),
                held: try row["delivery_held"].decode(Bool.self))
        }
        return SealedInboxPage.Message(
            sealed: SealedInboxMessage(
                id: message, direction: direction, verdict: verdict,
                receivedAt: try row["received_at"].decode(Int64.self), isRead: try row["is_read"].decode(Bool.self),
                subjectSealed: try row["subject_sealed"].decode(Data.self),
                bodySealed: try row["body_sealed"].decode(Data.self),
                signerSealed: try row["signer_sealed"].decode(Data?.self)),
            attachments: attachments, delivery: delivery)
    }
}
