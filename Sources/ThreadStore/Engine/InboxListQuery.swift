// Security: the inbox list's SQL for both engines, written once. It reads IDs, codes, times and counts; it
// decrypts nothing and takes every value as a bound parameter.

public import Foundation

/// The SQL spelling an inbox query is built for.
public enum InboxQueryDialect: Sendable {
    /// `?` placeholders, flags stored as 0/1, SQLite's `INDEXED BY`.
    case sqlite
    /// `$n` placeholders, `BOOLEAN` flags.
    case postgresql
}

/// A bound value of an inbox query.
public enum InboxQueryValue: Sendable, Hashable {
    case text(String)
    case integer(Int64)
}

/// One statement of the inbox list with its bound values.
public struct InboxListQuery: Sendable {
    public var sql: String
    public var values: [InboxQueryValue]
}

/// The inbox list (``ReadTransaction/listInbox(fields:state:assignment:order:limit:after:)``) for any engine:
/// which statements a page runs and in which order. A ``InboxOrder/waitingFirst`` page is two keyset walks, the
/// waiting threads (longest waiting first), then, if room is left, the rest by activity; the cursor says which walk
/// it continues. Every other order is one walk.
public struct InboxListing: Sendable {
    public var fields: Set<CounsellingField>?
    public var state: InboxState?
    public var assignment: InboxAssignmentFilter?
    public var order: InboxOrder
    public var limit: Int
    public var cursor: InboxCursor?

    /// Which threads of a list one statement walks.
    public enum Part: Sendable {
        /// Everything the other filters let through (every order but waiting-first).
        case all
        /// Threads waiting for an answer that are not closed, the longest waiting first.
        case waiting
        /// The others (answered or closed), most recent activity first.
        case notWaiting
    }

    /// Most fields one list accepts.
    public static let maximumFields = 64

    /// Checks the limits; false when the list is empty without a query (no fields in scope).
    /// - Throws: ``ThreadStoreError/limitExceeded`` for a `limit` outside 1…`maximumPageSize` or too many fields.
    public init?(fields: Set<CounsellingField>?, state: InboxState?, assignment: InboxAssignmentFilter?,
                 order: InboxOrder, limit: Int, after cursor: InboxCursor?, maximumPageSize: Int) throws {
        guard limit > 0, limit <= maximumPageSize else { throw ThreadStoreError.limitExceeded }
        if let fields {
            guard !fields.isEmpty else { return nil }
            guard fields.count <= Self.maximumFields else { throw ThreadStoreError.limitExceeded }
        }
        self.init(unchecked: fields, state: state, assignment: assignment, order: order, limit: limit, after: cursor)
    }

    /// A listing without the limits checked (the query plan tests).
    init(unchecked fields: Set<CounsellingField>?, state: InboxState?, assignment: InboxAssignmentFilter?,
         order: InboxOrder, limit: Int, after cursor: InboxCursor?) {
        self.fields = fields
        self.state = state
        self.assignment = assignment
        self.order = order
        self.limit = limit
        self.cursor = cursor
    }

    /// Runs the page's walks through `fetch` (the engine's statement runner).
    public func run(_ dialect: InboxQueryDialect, _ fetch: (InboxListQuery) throws -> [InboxThread]) rethrows
        -> [InboxThread]
    {
        guard order == .waitingFirst else { return try fetch(query(dialect, part: .all, limit: limit, after: cursor)) }
        var threads: [InboxThread] = []
        if cursor?.inAnsweredPart != true { threads = try fetch(query(dialect, part: .waiting, limit: limit, after: cursor)) }
        if threads.count < limit {
            threads += try fetch(query(dialect, part: .notWaiting, limit: limit - threads.count,
                                       after: cursor?.inAnsweredPart == true ? cursor : nil))
        }
        return threads
    }

    /// ``run(_:_:)`` for an engine whose statements are asynchronous.
    public func run(_ dialect: InboxQueryDialect, _ fetch: (InboxListQuery) async throws -> [InboxThread])
        async rethrows -> [InboxThread]
    {
        guard order == .waitingFirst else {
            return try await fetch(query(dialect, part: .all, limit: limit, after: cursor))
        }
        var threads: [InboxThread] = []
        if cursor?.inAnsweredPart != true {
            threads = try await fetch(query(dialect, part: .waiting, limit: limit, after: cursor))
        }
        if threads.count < limit {
            threads += try await fetch(query(dialect, part: .notWaiting, limit: limit - threads.count,
                                             after: cursor?.inAnsweredPart == true ? cursor : nil))
        }
        return threads
    }

    /// The columns of a list entry, in this order: id, field, state, created_at, last_activity_at, assigned_to,
    /// first_viewed_at, waiting_since, message_count, unread_count, is_new. `t` is the thread.
    public static func select(_ dialect: InboxQueryDialect) -> String {
        let unread = dialect == .sqlite ? "m.is_read = 0" : "NOT m.is_read"
        return """
            SELECT t.id, t.field, t.state, t.created_at, t.last_activity_at, t.assigned_to, t.first_viewed_at,
                t.waiting_since,
                (SELECT count(*) FROM message m WHERE m.thread_id = t.id) AS message_count,
                (SELECT count(*) FROM message m WHERE m.thread_id = t.id AND \(unread)) AS unread_count,
                \(isNew(dialect)) AS is_new
            FROM thread t
            """
    }

    /// The list entry of one thread.
    public static func entry(_ id: ThreadID, _ dialect: InboxQueryDialect) -> InboxListQuery {
        InboxListQuery(sql: select(dialect) + (dialect == .sqlite ? " WHERE t.id = ?" : " WHERE t.id = $1"),
                       values: [.text(id.unredactedDescription)])
    }

    /// Whether the counsellors answered the thread `t`: one probe of `message_by_thread_order` per thread, stopping
    /// at the first outbound message. On PostgreSQL `OFFSET 0` keeps it that way: without it the planner may run
    /// the check as a hashed subplan, one sequential scan of every outbound message of the store for each list
    /// page (82 ms at 100 k messages, growing with the store; BENCHMARKS.md, "Thread list and open on
    /// PostgreSQL"). `OFFSET` makes the subquery one PostgreSQL neither hashes nor turns into a join.
    static func answered(_ dialect: InboxQueryDialect) -> String {
        "EXISTS (SELECT 1 FROM message o WHERE o.thread_id = t.id AND o.direction = 1"
            + (dialect == .postgresql ? " OFFSET 0)" : ")")
    }

    /// "new": open, never opened, no counsellor reply.
    static func isNew(_ dialect: InboxQueryDialect) -> String {
        "(t.state = 0 AND t.first_viewed_at IS NULL AND NOT \(answered(dialect)))"
    }

    /// One walk's statement. Every variant walks an index backwards (no sort); `InboxPagingTests` checks the
    /// SQLite plans.
    public func query(_ dialect: InboxQueryDialect, part: Part, limit: Int, after cursor: InboxCursor?)
        -> InboxListQuery
    {
        // A waiting-first list is two walks: the waiting part as the longest-waiting order (open and
        // awaiting-client threads only), the rest as the last-activity order.
        var order = self.order
        switch (order, part) {
        case (.waitingFirst, .waiting), (.waitingFirst, .all): order = .longestWaiting
        case (.waitingFirst, .notWaiting): order = .lastActivity
        default: break
        }
        var values: [InboxQueryValue] = []
        func bind(_ value: InboxQueryValue) -> String {
            values.append(value)
            return dialect == .sqlite ? "?" : "$\(values.count)"
        }
        var conditions: [String] = []
        if let fields {
            let marks = fields.map(\.rawValue).sorted().map { bind(.text($0)) }
            conditions.append("t.field IN (\(marks.joined(separator: ", ")))")
        }
        if let state {
            let closed = ThreadState.closed.rawValue
            switch state {
            case .new: conditions.append(Self.isNew(dialect))
            case .open:
                let open = bind(.integer(Int64(ThreadState.open.rawValue)))
                conditions.append("(t.state = \(open) AND NOT \(Self.isNew(dialect)))")
            case .awaitingClient:
                conditions.append("t.state = \(bind(.integer(Int64(ThreadState.awaitingClient.rawValue))))")
            case .closed: conditions.append("t.state = \(bind(.integer(Int64(closed))))")
            }
        }
        switch assignment {
        case .assignedTo(let account): conditions.append("t.assigned_to = \(bind(.text(account.unredactedDescription)))")
        case .unassigned: conditions.append("t.assigned_to IS NULL")
        case nil: break
        }
        if order == .longestWaiting { conditions.append("t.waiting_since IS NOT NULL") }
        switch part {
        case .all: break
        case .waiting: conditions.append("t.state != \(ThreadState.closed.rawValue)")
        case .notWaiting: conditions.append("(t.waiting_since IS NULL OR t.state = \(ThreadState.closed.rawValue))")
        }
        if let cursor {
            let (time, id) = (bind(.integer(cursor.lastActivityMilliseconds)),
                              bind(.text(cursor.id.unredactedDescription)))
            switch order {
            case .lastActivity, .waitingFirst: conditions.append("(t.last_activity_at, t.id) < (\(time), \(id))")
            case .longestWaiting: conditions.append("(t.waiting_since, t.id) > (\(time), \(id))")
            }
        }
        var sql = Self.select(dialect)
        // Without statistics SQLite would rather filter by field and sort; the partial index is the keyset order.
        if order == .longestWaiting, dialect == .sqlite { sql += " INDEXED BY thread_by_waiting" }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        switch order {
        case .lastActivity, .waitingFirst: sql += " ORDER BY t.last_activity_at DESC, t.id DESC"
        case .longestWaiting: sql += " ORDER BY t.waiting_since, t.id"
        }
        sql += " LIMIT \(bind(.integer(Int64(limit))))"
        return InboxListQuery(sql: sql, values: values)
    }
}
