// Security: the digest pass on PostgreSQL (issue 21), as ThreadStoreNoticeDigests runs it on SQLite: counters are
// IDs and counts; an account's sealed notification address is opened here only to hand it to the caller's rule,
// which composes the digest; the digest is sealed with the outbox key before PostgreSQL sees it.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: NoticeDigestStore {
    public func queueDueDigests(now: Date, plan: @escaping @Sendable ([DueNoticeCount]) throws -> NoticeDigestPlan)
        async throws -> (queued: Int, dropped: Int)
    {
        let (secrets, configuration) = (self.secrets, self.configuration)
        return try await database.write { connection in
            let rows = rows(connection)
            let counters = try await connection.query("""
                SELECT recipient_kind, recipient, field, period, window_start, window_end, count FROM notice_pending
                WHERE window_end <= \(StoreTime.milliseconds(now))
                ORDER BY window_end, recipient_kind, recipient, field LIMIT 1000
                """, logger: rows.logger)
            var counts: [PendingNoticeCount] = []
            for try await (kind, recipient, field, period, start, end, count)
                in counters.decode((Int, String, String, Int, Int64, Int64, Int).self)
            {
                counts.append(try PendingNoticeCount.stored(
                    recipientKind: kind, recipient: recipient, field: field, period: period, windowStart: start,
                    windowEnd: end, count: count))
            }
            var targets: [AccountID: (NotificationSettings?, InterfaceLanguage?)] = [:]
            var due: [DueNoticeCount] = []
            for count in counts {
                guard case .account(let id) = count.recipient else {
                    due.append(DueNoticeCount(count: count, target: nil, language: nil))
                    continue
                }
                if targets[id] == nil { targets[id] = try await rows.noticeTarget(of: id, secrets: secrets) }
                due.append(DueNoticeCount(count: count, target: targets[id]!.0, language: targets[id]!.1))
            }
            let decided = try plan(due)
            try await rows.clearNoticeCounts(decided.dropped)
            for digest in decided.digests {
                let item = try await rows.enqueue(digest.item, secrets: secrets, limits: configuration)
                try await rows.audit(.noticeDigestQueued, thread: nil, itemID: item.unredactedDescription,
                                     count: digest.messages)
                try await rows.clearNoticeCounts(digest.counts)
            }
            return (decided.digests.count, decided.dropped.count)
        }
    }
}

extension PostgresThreadRows {
    /// An account's notice target (``ReadTransaction/noticeTarget(of:)``: settings only while it is enabled and has
    /// an address) and its interface language (nil if the account is gone).
    func noticeTarget(of account: AccountID, secrets: StoreSecrets) async throws
        -> (NotificationSettings?, InterfaceLanguage?)
    {
        let found = try await connection.query("""
            SELECT disabled, language, notify_address_sealed, notify_mode FROM account
            WHERE id = \(account.unredactedDescription)
            """, logger: logger)
        for try await (disabled, language, sealed, mode) in found.decode((Bool, String, Data?, Int).self) {
            guard let language = InterfaceLanguage(rawValue: language), let mode = NoticeMode(rawValue: mode) else {
                throw ThreadStoreError.databaseCorrupt
            }
            guard !disabled, let sealed else { return (nil, language) }
            return (NotificationSettings(address: try secrets.openNotificationAddress(sealed, of: account), mode: mode),
                    language)
        }
        return (nil, nil)
    }

    /// ``WriteTransaction/clearNoticeCounts(_:)``.
    func clearNoticeCounts(_ counts: [PendingNoticeCount]) async throws {
        for count in counts {
            let (kind, key) = StoreSecrets.noticeKey(count.recipient)
            try await connection.query("""
                DELETE FROM notice_pending WHERE recipient_kind = \(kind) AND recipient = \(key)
                    AND field = \(count.field.rawValue) AND window_start = \(StoreTime.milliseconds(count.windowStart))
                """, logger: logger)
        }
    }
}
