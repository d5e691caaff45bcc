// Security: constructors of the inbox's values from stored columns, for both engines (issue 21): IDs, codes, counts
// and times only. The SQLite engine builds its values through the same functions, so the rules (when a thread is
// "new", which other thread came earlier, where a page's cursors point) are written once.

public import Foundation

extension InboxThread {
    /// A list entry from a thread's stored columns and counts. `isNew`: open, never viewed, no counsellor reply.
    /// - Throws: ``ThreadStoreError/databaseCorrupt`` for an unknown state code.
    public static func stored(
        id: ThreadID, field: CounsellingField, stateCode: Int, isNew: Bool, createdAt: Int64, lastActivityAt: Int64,
        messageCount: Int, unreadCount: Int, assignedTo: AccountID?, firstViewedAt: Int64?, waitingSince: Int64?
    ) throws(ThreadStoreError) -> InboxThread {
        guard let stored = ThreadState(rawValue: stateCode) else { throw .databaseCorrupt }
        let summary = ThreadSummary(
            id: id, field: field, state: stored, createdAt: Date(storeMilliseconds: createdAt),
            lastActivityAt: Date(storeMilliseconds: lastActivityAt), messageCount: messageCount,
            unreadCount: unreadCount)
        let state: InboxState =
            switch stored {
            case .open: isNew ? .new : .open
            case .awaitingClient: .awaitingClient
            case .closed: .closed
            }
        var thread = InboxThread(summary: summary, state: state, assignedTo: assignedTo,
                                 firstViewedAt: firstViewedAt.map(Date.init(storeMilliseconds:)))
        thread.waitingSince = waitingSince.map(Date.init(storeMilliseconds:))
        return thread
    }
}

extension MessagePageInfo {
    /// The counts and cursors around a page whose oldest message is `first` and newest `last` (received time in
    /// store milliseconds, ID); `earlier` and `later` count the messages (and unread ones) before and after it.
    /// An empty page (nil `first`) has none.
    public static func around(first: (Int64, StoredMessageID)?, last: (Int64, StoredMessageID)?,
                              earlier: (all: Int, unread: Int), later: (all: Int, unread: Int)) -> MessagePageInfo {
        var info = MessagePageInfo()
        guard let first, let last else { return info }
        (info.earlierCount, info.earlierUnreadCount) = earlier
        (info.laterCount, info.laterUnreadCount) = later
        if info.earlierCount > 0 { info.earlierCursor = MessageCursor(receivedAtMilliseconds: first.0, id: first.1) }
        if info.laterCount > 0 { info.laterCursor = MessageCursor(receivedAtMilliseconds: last.0, id: last.1) }
        return info
    }
}

extension ClientKeyChange {
    /// The key change of `thread` (created at `createdAt`, store milliseconds) given the other threads of its field
    /// and address with another key (ID and creation time, oldest first); nil when there are none. A thread is
    /// earlier when it was created before, or at the same millisecond with a smaller ID.
    public static func of(_ thread: ThreadID, createdAt: Int64, others: [(ThreadID, Int64)], confirmedAt: Int64?)
        -> ClientKeyChange?
    {
        guard !others.isEmpty else { return nil }
        return ClientKeyChange(
            otherThreads: others.map { other, created in
                KeyChangeThread(id: other, createdAt: Date(storeMilliseconds: created),
                                isEarlier: created < createdAt
                                    || (created == createdAt && other.unredactedDescription < thread.unredactedDescription))
            },
            confirmedAt: confirmedAt.map(Date.init(storeMilliseconds:)))
    }
}

extension InboxThreadView {
    /// An opened page of a thread as an engine built it.
    public static func stored(thread: InboxThread, clientKey: ClientKeyFingerprint?, clientAddress: ClientAddress,
                              messages: [InboxMessage], page: MessagePageInfo, keyChange: ClientKeyChange?,
                              heldReplies: [StoredMessageID]) -> InboxThreadView {
        InboxThreadView(thread: thread, clientKey: clientKey, clientAddress: clientAddress, messages: messages,
                        page: page, keyChange: keyChange, heldReplies: heldReplies)
    }
}

extension SealedInboxMessage {
    /// The position of the message in its thread's order (received time, ID).
    public var position: (Int64, StoredMessageID) { (receivedAt, id) }
}

extension ReplyDelivery {
    /// A reply's delivery from its `reply_delivery` row: author, state code (nil while held) and whether a
    /// `held_reply` row exists (held wins, as on SQLite).
    public static func stored(author: AccountID?, stateCode: Int?, held: Bool) -> ReplyDelivery {
        ReplyDelivery(author: author, state: held ? .held : stateCode.flatMap(ReplyDeliveryState.init(storedCode:)))
    }
}
