// Security: the digest pass on any engine. It reads digest counters (a field, a recipient ID, a window and a
// count) and, for an account recipient, its notice target with the sealed address opened, only to address that
// account's digest. The digest's text is composed by the caller's rule; the engine queues it and clears the
// counters in the same transaction. Audit rows carry IDs and counts.

public import Foundation

/// A due digest counter, with what its account recipient's row says now.
public struct DueNoticeCount: Sendable, CustomStringConvertible {
    public var count: PendingNoticeCount
    /// For an account recipient: where its notices go (nil: the account is disabled or gone, or has no address;
    /// ``ReadTransaction/noticeTarget(of:)``). Nil for a team recipient.
    public var target: NotificationSettings?
    /// For an account recipient: its interface language, if the account exists.
    public var language: InterfaceLanguage?

    public init(count: PendingNoticeCount, target: NotificationSettings?, language: InterfaceLanguage?) {
        self.count = count
        self.target = target
        self.language = language
    }

    public var description: String { "DueNoticeCount(\(count))" }
}

/// What one digest pass queues and drops, as the caller's rule decided from the due counters.
public struct NoticeDigestPlan: Sendable {
    /// One digest: its mail and the counters it reports.
    public struct Digest: Sendable {
        public var item: NewOutboxItem
        /// Messages it counts (``AuditEvent/noticeDigestQueued``'s count).
        public var messages: Int
        public var counts: [PendingNoticeCount]

        public init(item: NewOutboxItem, messages: Int, counts: [PendingNoticeCount]) {
            self.item = item
            self.messages = messages
            self.counts = counts
        }
    }

    public var digests: [Digest] = []
    /// Counters without a usable address: deleted, nothing queued.
    public var dropped: [PendingNoticeCount] = []

    public init(digests: [Digest] = [], dropped: [PendingNoticeCount] = []) {
        self.digests = digests
        self.dropped = dropped
    }
}

/// The digest pass's transaction (issue 21): ``ThreadStoreNoticeDigests`` on SQLite, `PostgresThreads`
/// (StorePostgres) on PostgreSQL.
public protocol NoticeDigestStore: Sendable {
    /// In one transaction: reads the counters whose window ended at or before `now` (at most 1000, oldest window
    /// first) with their accounts' targets, runs `plan` on them, queues each digest (audited
    /// ``AuditEvent/outboxQueued`` and ``AuditEvent/noticeDigestQueued``) and deletes its counters and the dropped
    /// ones. A failure anywhere (the plan included) leaves every counter for the next pass. Returns how many
    /// digests were queued and counters dropped.
    func queueDueDigests(now: Date, plan: @escaping @Sendable ([DueNoticeCount]) throws -> NoticeDigestPlan)
        async throws -> (queued: Int, dropped: Int)
}

/// ``NoticeDigestStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreNoticeDigests: NoticeDigestStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func queueDueDigests(now: Date, plan: @escaping @Sendable ([DueNoticeCount]) throws -> NoticeDigestPlan)
        async throws -> (queued: Int, dropped: Int)
    {
        try await store.write { tx in try Self.queueDue(tx, now: now, plan: plan) }
    }

    /// The pass inside `tx`.
    public static func queueDue(_ tx: WriteTransaction, now: Date, plan: ([DueNoticeCount]) throws -> NoticeDigestPlan)
        throws -> (queued: Int, dropped: Int)
    {
        var targets: [AccountID: (NotificationSettings?, InterfaceLanguage?)] = [:]
        var due: [DueNoticeCount] = []
        for count in try tx.reader.dueNoticeCounts(now: now) {
            guard case .account(let id) = count.recipient else {
                due.append(DueNoticeCount(count: count, target: nil, language: nil))
                continue
            }
            if targets[id] == nil { targets[id] = (try tx.noticeTarget(of: id), try tx.account(id)?.language) }
            due.append(DueNoticeCount(count: count, target: targets[id]!.0, language: targets[id]!.1))
        }
        let decided = try plan(due)
        try tx.clearNoticeCounts(decided.dropped)
        for digest in decided.digests {
            let item = try tx.enqueueOutbox(digest.item)
            try tx.recordDigestQueued(item: item, messages: digest.messages)
            try tx.clearNoticeCounts(digest.counts)
        }
        return (decided.digests.count, decided.dropped.count)
    }
}

extension PendingNoticeCount {
    /// A counter from its `notice_pending` columns (both engines).
    /// - Throws: ``ThreadStoreError/databaseCorrupt`` for an unknown recipient kind or period.
    public static func stored(recipientKind: Int, recipient: String, field: String, period: Int, windowStart: Int64,
                              windowEnd: Int64, count: Int) throws -> PendingNoticeCount {
        let to: NoticeRecipient
        switch recipientKind {
        case 0: to = .team(try CounsellingField(recipient))
        case 1: to = .account(try AccountID(recipient))
        default: throw ThreadStoreError.databaseCorrupt
        }
        guard let mode = NoticeMode(rawValue: period), mode != .eachMessage else { throw ThreadStoreError.databaseCorrupt }
        return PendingNoticeCount(recipient: to, field: try CounsellingField(field), mode: mode,
                                  windowStart: Date(storeMilliseconds: windowStart),
                                  windowEnd: Date(storeMilliseconds: windowEnd), count: count)
    }
}
