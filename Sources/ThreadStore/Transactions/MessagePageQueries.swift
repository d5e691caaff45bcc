import GRDB

/// SQL of message paging (``ReadTransaction/openInboxThread(_:page:)``). Every query is a range of the index
/// `message_by_thread_order (thread_id, received_at, id)` (migration v7), so SQLite never sorts the thread: a page
/// reads its own rows only (stopping at `LIMIT`), and the counts around it walk the index (reading `is_read`,
/// decrypting nothing). `InboxPagingTests.pagingAndAssigneeQueriesWalkTheirIndexesWithoutSorting` checks the plans.
enum MessagePageQueries {
    static let newest = """
        SELECT \(MessageRecord.columns) FROM message WHERE thread_id = ?
        ORDER BY received_at DESC, id DESC LIMIT ?
        """
    static let before = """
        SELECT \(MessageRecord.columns) FROM message WHERE thread_id = ? AND (received_at, id) < (?, ?)
        ORDER BY received_at DESC, id DESC LIMIT ?
        """
    static let after = """
        SELECT \(MessageRecord.columns) FROM message WHERE thread_id = ? AND (received_at, id) > (?, ?)
        ORDER BY received_at, id LIMIT ?
        """
    /// Messages (and unread ones) before a position.
    static let countBefore = """
        SELECT count(*), total(is_read = 0) FROM message WHERE thread_id = ? AND (received_at, id) < (?, ?)
        """
    /// Messages (and unread ones) after a position.
    static let countAfter = """
        SELECT count(*), total(is_read = 0) FROM message WHERE thread_id = ? AND (received_at, id) > (?, ?)
        """

    /// The sealed rows of one page, oldest first.
    static func records(_ db: Database, thread: ThreadID, _ request: MessagePageRequest) throws -> [MessageRecord] {
        let sql: String
        var arguments: StatementArguments = [thread.raw.text]
        switch request.anchor {
        case .newest:
            sql = newest
        case .before(let cursor):
            sql = before
            arguments += [cursor.receivedAtMilliseconds, cursor.id.raw.text]
        case .after(let cursor):
            sql = after
            arguments += [cursor.receivedAtMilliseconds, cursor.id.raw.text]
        }
        arguments += [request.limit]
        let records = try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map {
            row throws(ThreadStoreError) in try MessageRecord(row: row)
        }
        if case .after = request.anchor { return records }
        return records.reversed()
    }

    /// Counts and cursors around `page` (oldest first). An empty page (a cursor past either end) has none.
    static func info(_ db: Database, thread: ThreadID, page: [MessageRecord]) throws -> MessagePageInfo {
        guard let first = page.first, let last = page.last else { return MessagePageInfo() }
        func count(_ sql: String, _ record: MessageRecord) throws -> (all: Int, unread: Int) {
            let row = try Row.fetchOne(db.cachedStatement(sql: sql),
                                       arguments: [thread.raw.text, record.receivedAt, record.id.raw.text])
            return (row?[0] ?? 0, Int(row?[1] as Double? ?? 0))
        }
        return MessagePageInfo.around(first: (first.receivedAt, first.id), last: (last.receivedAt, last.id),
                                      earlier: try count(countBefore, first), later: try count(countAfter, last))
    }
}
