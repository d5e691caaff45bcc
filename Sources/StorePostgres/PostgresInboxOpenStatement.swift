// Security: the statement that opens a page of a thread (PostgresInboxOpen.swift), as three prepared statements,
// one per page anchor (issue 21: thread open under 5 ms). A prepared statement is parsed once per connection and,
// after five calls, planned once (PostgreSQL's plan cache); the text and the parameters' types are fixed here, so
// every value stays a bound parameter. Nothing is logged but SQLSTATE codes (postgres-nio puts the binds into its
// error value, which the store never logs). postgres-nio keeps a statement whose preparation failed as failed for
// the connection's life, so after a failure the statements are prepared again under new names
// (``OpenInboxPageSQL/retire()``).

import PostgresNIO
import Synchronization
import ThreadStore

/// The values every open binds, in the order of their parameters `$1` … `$9`.
struct OpenInboxPageParameters: Sendable {
    var thread: String
    var everyField: Bool
    var fields: [String]
    var now: Int64
    var limit: Int64
    var event: Int64
    var actor: String
    var channel: Int64?
    var token: String?

    /// Their types, given with the statement rather than left to the server: a NULL carries no type of its own,
    /// and the server's guess from a cast (`$8::smallint`) would not match the 8 octets sent.
    static let types: [PostgresDataType] = [.text, .bool, .textArray, .int8, .int8, .int8, .text, .int8, .text]

    func bindings(_ cursor: MessageCursor?) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: Self.types.count + 2)
        bindings.append(thread)
        bindings.append(everyField)
        bindings.append(fields)
        bindings.append(now)
        bindings.append(limit)
        bindings.append(event)
        bindings.append(actor)
        bindings.append(channel)
        bindings.append(token)
        if let cursor {
            bindings.append(cursor.receivedAtMilliseconds)
            bindings.append(cursor.id.unredactedDescription)
        }
        return bindings
    }
}

/// Which page of the thread: the newest, or the one before or after a cursor (`$10`, `$11`).
protocol OpenInboxPageAnchor: Sendable {
    /// The page's condition and order on `message m`, after `WHERE m.thread_id = $1 …`.
    static var page: String { get }
    /// The whole statement with ``page`` (built once: a generic type has no stored static properties).
    static var sql: String { get }
}

/// An anchor with a cursor: its received time and message ID are `$10` and `$11`.
protocol CursorPageAnchor: OpenInboxPageAnchor {}

enum NewestPage: OpenInboxPageAnchor {
    static let page = "ORDER BY m.received_at DESC, m.id DESC LIMIT $5"
    static let sql = OpenInboxPageSQL.text(page: page)
}

enum PageBefore: CursorPageAnchor {
    static let page = "AND (m.received_at, m.id) < ($10, $11) ORDER BY m.received_at DESC, m.id DESC LIMIT $5"
    static let sql = OpenInboxPageSQL.text(page: page)
}

enum PageAfter: CursorPageAnchor {
    static let page = "AND (m.received_at, m.id) > ($10, $11) ORDER BY m.received_at, m.id LIMIT $5"
    static let sql = OpenInboxPageSQL.text(page: page)
}

/// The open of one page: `PostgresThreadRows.openInboxPage` reads its rows by column name.
struct OpenInboxPage<Anchor: OpenInboxPageAnchor>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    /// The anchor and the current generation (``OpenInboxPageSQL/retire()``): postgres-nio prepares a statement
    /// once per connection and name.
    static var name: String { "mailbridge.open-inbox-page.\(Anchor.self).\(OpenInboxPageSQL.generation.load(ordering: .relaxed))" }

    static var sql: String { Anchor.sql }
    static var bindingDataTypes: [PostgresDataType] {
        OpenInboxPageParameters.types + (Anchor.self is any CursorPageAnchor.Type ? [.int8, .text] : [])
    }

    private let parameters: OpenInboxPageParameters
    private let cursor: MessageCursor?

    init(_ parameters: OpenInboxPageParameters) where Anchor == NewestPage {
        (self.parameters, cursor) = (parameters, nil)
    }

    init(_ parameters: OpenInboxPageParameters, cursor: MessageCursor) where Anchor: CursorPageAnchor {
        (self.parameters, self.cursor) = (parameters, cursor)
    }

    func makeBindings() throws -> PostgresBindings { parameters.bindings(cursor) }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

enum OpenInboxPageSQL {
    /// Bumped by ``retire()``; part of every statement's name.
    static let generation = Atomic<Int>(0)

    /// After a failure: later opens use new statement names, so every connection prepares them again. postgres-nio
    /// answers every later use of a name whose preparation failed on a connection with that failure, for the
    /// connection's life (a cancelled or timed-out parse, a schema changed under a running node). Each generation
    /// leaves at most three prepared statements per connection on the server, freed when the connection closes.
    static func retire() {
        generation.add(1, ordering: .relaxed)
    }

    /// `opened` is the scope check (and the data key); every later part is gated on it. The page is
    /// `MessagePageRequest`'s keyset page, as `pageMessages` read it; the rows come back oldest first, one per
    /// message (one with empty message columns for a thread without messages), each with the thread's columns.
    /// `outbound` as `InboxListing.answered`: direction 1.
    static func text(page: String) -> String {
        """
        WITH opened AS (
            SELECT t.client_key_sealed, t.client_address_sealed, t.awaiting_key, k.wrapped_key, t.field,
                t.client_key_hmac, t.client_address_hmac, t.key_change_confirmed_at
            FROM thread t JOIN thread_key k ON k.thread_id = t.id
            WHERE t.id = $1 AND ($2 OR t.field = ANY($3))
        ),
        entry AS (\(InboxListing.select(.postgresql)) WHERE t.id = $1 AND EXISTS (SELECT FROM opened)),
        page AS (
            SELECT m.id, m.direction, m.verdict, m.received_at, m.is_read, m.subject_sealed, m.body_sealed,
                m.signer_sealed
            FROM message m WHERE m.thread_id = $1 AND EXISTS (SELECT FROM opened) \(page)
        ),
        marked AS (
            UPDATE message SET is_read = TRUE
            WHERE thread_id = $1 AND id IN (SELECT id FROM page) AND NOT is_read
        ),
        viewed AS (
            UPDATE thread SET first_viewed_at = coalesce(first_viewed_at, $4)
            WHERE id = $1 AND EXISTS (SELECT FROM opened)
        ),
        audited AS (
            INSERT INTO audit (at, event, thread_id, item_id, count, actor_id, channel, token_id)
            SELECT $4, $6, $1, (SELECT id FROM page ORDER BY received_at, id LIMIT 1), (SELECT count(*) FROM page),
                $7, $8::smallint, $9
            FROM opened
            RETURNING id
        ),
        earlier AS (
            SELECT count(*) AS all_count, count(*) FILTER (WHERE NOT c.is_read) AS unread_count
            FROM (SELECT received_at, id FROM page ORDER BY received_at, id LIMIT 1) f
                JOIN message c ON c.thread_id = $1 AND (c.received_at, c.id) < (f.received_at, f.id)
        ),
        later AS (
            SELECT count(*) AS all_count, count(*) FILTER (WHERE NOT c.is_read) AS unread_count
            FROM (SELECT received_at, id FROM page ORDER BY received_at DESC, id DESC LIMIT 1) l
                JOIN message c ON c.thread_id = $1 AND (c.received_at, c.id) > (l.received_at, l.id)
        ),
        others AS (
            SELECT o.id, o.created_at
            FROM opened s JOIN thread o ON o.field = s.field AND o.client_address_hmac = s.client_address_hmac
                AND o.client_key_hmac != s.client_key_hmac AND o.id != $1
            ORDER BY o.created_at, o.id LIMIT 20
        ),
        held AS (
            SELECT h.message_id, m.received_at FROM held_reply h JOIN message m ON m.id = h.message_id
            WHERE h.thread_id = $1 AND EXISTS (SELECT FROM opened)
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
    }
}
