// Security: reads and writes notice settings and digest counters. The notification address is sealed under the
// account secrets key, bound to its account row and column, and opened only to address a notice; it never reaches
// a log, an audit row or an error. Counters hold a field name, a recipient ID and a count.

public import Foundation
import GRDB

extension ReadTransaction {
    /// The notice settings of an account, or nil if there is no such account. Opens the sealed address.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` if the sealed address was altered or moved.
    public func notificationSettings(of account: AccountID) throws -> NotificationSettings? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT notify_address_sealed, notify_mode FROM account WHERE id = ?"),
                arguments: [account.raw.text])
        else { return nil }
        guard let mode = NoticeMode(rawValue: row["notify_mode"]) else { throw ThreadStoreError.databaseCorrupt }
        var address: ClientAddress?
        if let sealed = row["notify_address_sealed"] as Data? {
            address = try ClientAddress(Sealing.openString(
                sealed, key: context.keys.accountSecrets, context: NoticeRows.addressContext(account)))
        }
        return NotificationSettings(address: address, mode: mode)
    }

    /// Where a notice for `account` goes now: its settings if it has an address and is not disabled, else nil.
    public func noticeTarget(of account: AccountID) throws -> NotificationSettings? {
        guard let found = try AccountRows.find(db, id: account), !found.isDisabled,
            let settings = try notificationSettings(of: account), settings.address != nil
        else { return nil }
        return settings
    }

    /// Digest counters whose window ended at or before `now`, oldest window first, at most `limit`.
    public func dueNoticeCounts(now: Date, limit: Int = 1000) throws -> [PendingNoticeCount] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT recipient_kind, recipient, field, period, window_start, window_end, count FROM notice_pending
                WHERE window_end <= ? ORDER BY window_end, recipient_kind, recipient, field LIMIT ?
                """),
            arguments: [now.storeMilliseconds, max(1, min(limit, 10_000))]
        ).map(NoticeRows.count(from:))
    }

    /// ``waitingThreadCounts(before:)`` per counselling field (fields without such threads left out), for the gauge
    /// per organisation (issue 29). Decrypts nothing.
    public func waitingThreadCountsByField(before cutoffs: [Date]) throws -> [[CounsellingField: Int]] {
        try cutoffs.map { cutoff in
            var counts: [CounsellingField: Int] = [:]
            for row in try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT field, count(*) AS n FROM thread INDEXED BY thread_by_waiting
                    WHERE waiting_since IS NOT NULL AND waiting_since < ? AND state <> ? GROUP BY field
                    """),
                arguments: [cutoff.storeMilliseconds, ThreadState.closed.rawValue])
            {
                counts[try CounsellingField(row["field"] as String)] = row["n"]
            }
            return counts
        }
    }

    /// How many threads each counselling field holds (fields without threads left out). Decrypts nothing: the
    /// installation's administrator sees counts per organisation from it (issue 29), never a thread.
    public func threadCountsByField() throws -> [CounsellingField: Int] {
        var counts: [CounsellingField: Int] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT field, count(*) AS n FROM thread GROUP BY field")) {
            counts[try CounsellingField(row["field"] as String)] = row["n"]
        }
        return counts
    }

    /// For every limit in `cutoffs`, how many threads that are not closed have waited for an answer since before
    /// it (``InboxThread/waitingSince`` earlier than the cutoff). One index range per cutoff; decrypts nothing.
    public func waitingThreadCounts(before cutoffs: [Date]) throws -> [Int] {
        try cutoffs.map { cutoff in
            try Int.fetchOne(
                db.cachedStatement(sql: """
                    SELECT count(*) FROM thread INDEXED BY thread_by_waiting
                    WHERE waiting_since IS NOT NULL AND waiting_since < ? AND state <> ?
                    """),
                arguments: [cutoff.storeMilliseconds, ThreadState.closed.rawValue]) ?? 0
        }
    }
}

extension WriteTransaction {
    /// See ``ReadTransaction/noticeTarget(of:)``.
    public func noticeTarget(of account: AccountID) throws -> NotificationSettings? {
        try reader.noticeTarget(of: account)
    }

    /// Sets (or, with a nil address, clears) an account's notification address and mode. The address is sealed.
    /// Audits ``AuditEvent/notificationSettingsChanged`` (count: the mode code; never the address).
    public func setNotificationSettings(_ settings: NotificationSettings, of id: AccountID, actor: AccountID?) throws {
        var sealed: Data?
        if let address = settings.address {
            sealed = try Sealing.sealString(
                address.unredactedDescription, key: context.keys.accountSecrets, context: NoticeRows.addressContext(id))
        }
        try db.cachedStatement(sql: "UPDATE account SET notify_address_sealed = ?, notify_mode = ? WHERE id = ?")
            .execute(arguments: [sealed, settings.mode.rawValue, id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        try recordAccess(.notificationSettingsChanged, actor: actor, itemID: id.raw.text,
                         count: settings.address == nil ? nil : settings.mode.rawValue)
    }

    /// Counts one new message of `field` for `recipient` in the digest window of `mode` containing `now`.
    /// - Throws: ``ThreadStoreError/invalidValue`` for ``NoticeMode/eachMessage`` (nothing to count).
    public func countNotice(for recipient: NoticeRecipient, field: CounsellingField, mode: NoticeMode,
                            now: Date) throws {
        guard let window = mode.window(containing: now) else { throw ThreadStoreError.invalidValue }
        let (kind, key) = NoticeRows.key(recipient)
        try db.cachedStatement(sql: """
            INSERT INTO notice_pending (recipient_kind, recipient, field, period, window_start, window_end, count)
            VALUES (?, ?, ?, ?, ?, ?, 1)
            ON CONFLICT (recipient_kind, recipient, field, window_start) DO UPDATE SET count = count + 1
            """).execute(arguments: [kind, key, field.rawValue, mode.rawValue,
                                     window.lowerBound.storeMilliseconds, window.upperBound.storeMilliseconds])
    }

    /// Deletes the counters of a digest that is being queued in this transaction (or dropped for want of an
    /// address). Counters added after they were read are not touched (same key, so a count that changed meanwhile
    /// is impossible inside one write transaction).
    public func clearNoticeCounts(_ counts: [PendingNoticeCount]) throws {
        for count in counts {
            let (kind, key) = NoticeRows.key(count.recipient)
            try db.cachedStatement(sql: """
                DELETE FROM notice_pending
                WHERE recipient_kind = ? AND recipient = ? AND field = ? AND window_start = ?
                """).execute(arguments: [kind, key, count.field.rawValue, count.windowStart.storeMilliseconds])
        }
    }

    /// Records that a digest was queued as outbox item `item`, counting `messages`.
    public func recordDigestQueued(item: OutboxItemID, messages: Int) throws {
        try AuditLog.append(db, at: now, event: .noticeDigestQueued, itemID: item.unredactedDescription,
                            count: messages)
    }
}

/// Row helpers of `notice_pending` and the sealed account address.
enum NoticeRows {
    static func addressContext(_ account: AccountID) -> SealContext {
        SealContext(table: "account", column: "notify_address_sealed", threadID: "", rowID: account.raw.text)
    }

    static func key(_ recipient: NoticeRecipient) -> (Int, String) {
        switch recipient {
        case .team(let field): (0, field.rawValue)
        case .account(let id): (1, id.raw.text)
        }
    }

    static func count(from row: Row) throws -> PendingNoticeCount {
        try PendingNoticeCount.stored(
            recipientKind: row["recipient_kind"], recipient: row["recipient"], field: row["field"],
            period: row["period"], windowStart: row["window_start"], windowEnd: row["window_end"], count: row["count"])
    }
}
