// Security: sends the hourly and daily digests. It reads digest counters (counts per field), opens an account's
// sealed notification address only to address its digest, and queues the mail through the outbox. Logs counts only.

public import Foundation
public import Logging
public import ServiceLifecycle
public import ThreadStore

/// Sends one digest per address and window once the window has ended (issue 17).
///
/// Crash safety: the digest's outbox row is queued and its counters deleted in one store transaction, so a window
/// is sent at most once, and a crash before the commit leaves the counters for the next pass (nothing is lost).
/// Counters for a recipient without a usable address (an account that removed its address or was disabled, a
/// field no longer configured) are dropped and the number logged.
///
/// ```swift
/// let digests = NoticeDigestService(store: store, mailboxes: { pipeline.configuration.mailboxes },
///                                   inbox: { pipeline.configuration.notices.inboxLink }, outbox: outbox,
///                                   logger: logger)
/// ```
public final class NoticeDigestService: Service, Sendable {
    /// The pass's transaction, on either engine.
    let digests: any NoticeDigestStore
    let mailboxes: @Sendable () -> [PipelineMailbox]
    let inbox: @Sendable () -> InboxLink?
    let outbox: Outbox
    let interval: Duration
    let logger: Logger
    let now: @Sendable () -> Date

    public convenience init(store: ThreadStore, mailboxes: @escaping @Sendable () -> [PipelineMailbox],
                            inbox: @escaping @Sendable () -> InboxLink?, outbox: Outbox = Outbox(),
                            interval: Duration = .seconds(60), logger: Logger,
                            now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(digests: ThreadStoreNoticeDigests(store), mailboxes: mailboxes, inbox: inbox, outbox: outbox,
                  interval: interval, logger: logger, now: now)
    }

    /// Digests on any engine.
    public init(digests: any NoticeDigestStore, mailboxes: @escaping @Sendable () -> [PipelineMailbox],
                inbox: @escaping @Sendable () -> InboxLink?, outbox: Outbox = Outbox(),
                interval: Duration = .seconds(60), logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.digests = digests
        self.mailboxes = mailboxes
        self.inbox = inbox
        self.outbox = outbox
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        await runPeriodically(every: interval) { await self.runOnce() }
    }

    /// What one pass did.
    public struct Report: Sendable, Hashable {
        /// Digests queued.
        public var queued = 0
        /// Counters dropped for want of an address.
        public var dropped = 0
    }

    /// One pass: queues every digest whose window has ended. Nil if the store failed (logged; tried next time).
    @discardableResult
    public func runOnce() async -> Report? {
        let time = now()
        let mailboxes = self.mailboxes()
        let inbox = self.inbox()
        do {
            let done = try await digests.queueDueDigests(now: time) { due in
                try Self.plan(due, now: time, mailboxes: mailboxes, inbox: inbox)
            }
            let report = Report(queued: done.queued, dropped: done.dropped)
            if report.queued > 0 { outbox.wakeAfterCommit() }
            if report.queued + report.dropped > 0 {
                logger.info("notice digests", metadata: ["queued": "\(report.queued)", "dropped": "\(report.dropped)"])
            }
            return report
        } catch {
            logger.error("notice digests failed", metadata: ["error": "\(type(of: error))"])
            return nil
        }
    }

    /// The pass inside `tx` on SQLite (``ThreadStoreNoticeDigests``) with this service's rule.
    static func queueDue(_ tx: WriteTransaction, now: Date, mailboxes: [PipelineMailbox],
                         inbox: InboxLink?) throws -> Report {
        let done = try ThreadStoreNoticeDigests.queueDue(tx, now: now) { due in
            try plan(due, now: now, mailboxes: mailboxes, inbox: inbox)
        }
        return Report(queued: done.queued, dropped: done.dropped)
    }

    /// The rule of a pass: groups the due counters by address, window and period into one digest each (its mail
    /// composed here); counters without a usable address (a team field no longer configured, an account without
    /// a target) are dropped.
    static func plan(_ due: [DueNoticeCount], now: Date, mailboxes: [PipelineMailbox], inbox: InboxLink?) throws
        -> NoticeDigestPlan
    {
        struct Key: Hashable {
            var address: String
            var windowStart: Date
            var mode: NoticeMode
            /// An account's interface language; nil for team addresses (the mailbox's language).
            var german: Bool?
        }
        var plan = NoticeDigestPlan()
        var groups: [Key: (recipient: EmailAddress, counts: [PendingNoticeCount])] = [:]
        var order: [Key] = []
        for entry in due {
            let count = entry.count
            let address: EmailAddress?
            var german: Bool?
            switch count.recipient {
            case .team(let field):
                address = mailboxes.first(where: { $0.field == field })?.teamAddress
            case .account:
                address = entry.target?.address.flatMap { try? EmailAddress($0.unredactedDescription) }
                german = entry.language.map { $0 == .german }
            }
            guard let address else {
                plan.dropped.append(count)
                continue
            }
            let key = Key(address: address.canonical, windowStart: count.windowStart, mode: count.mode,
                          german: german)
            if groups[key] == nil { order.append(key) }
            groups[key, default: (address, [])].counts.append(count)
        }
        for key in order {
            guard let group = groups[key], let first = group.counts.first else { continue }
            let (recipient, counts) = (group.recipient, group.counts)
            var perField: [CounsellingField: Int] = [:]
            for count in counts { perField[count.field, default: 0] += count.count }
            let sender = counts.lazy.compactMap { count in mailboxes.first(where: { $0.field == count.field }) }.first
                ?? mailboxes.first
            guard let sender else { continue }
            let digest = NoticeDigest(window: first.windowStart..<first.windowEnd, mode: key.mode, counts: perField)
            let mail = try digest.mail(from: sender, to: recipient, inbox: inbox, date: now, german: key.german)
            plan.digests.append(NoticeDigestPlan.Digest(
                item: NewOutboxItem(thread: nil, kind: .notification, recipient: try ClientAddress(recipient),
                                    payload: mail.bytes, notBefore: now),
                messages: digest.total, counts: counts))
        }
        return plan
    }
}
