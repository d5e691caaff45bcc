// Security: values of the counsellor-side inbox. Listing values carry metadata only (IDs, field, state, times,
// counts, assignee); the decrypted thread view carries content and redacts it in `description`. Paging cursors
// arrive from URLs and validate on init.

public import Foundation

/// The state a counsellor sees for a thread: the stored ``ThreadState`` plus "new".
///
/// A thread is **new** while it is open, no counsellor has opened it yet (web page or API fetch) and it has no
/// counsellor reply. Opening it once makes it "open" for everyone; an inbound message after that keeps it
/// "open" (its unread count shows the news).
public enum InboxState: String, Hashable, Sendable, CaseIterable {
    case new
    case open
    case awaitingClient = "awaiting_client"
    case closed
}

/// A thread in a counsellor's list: metadata only, nothing decrypted.
public struct InboxThread: Hashable, Sendable, CustomStringConvertible {
    /// IDs, field, stored state, times and counts.
    public var summary: ThreadSummary
    /// The state shown to counsellors.
    public var state: InboxState
    /// The account the thread is assigned to, if any.
    public var assignedTo: AccountID?
    /// When a counsellor first opened the thread.
    public var firstViewedAt: Date?
    /// When the oldest inbound message after the last counsellor message arrived; nil when all are answered.
    public var waitingSince: Date? = nil

    /// The thread's ID.
    public var id: ThreadID { summary.id }

    public var description: String { "InboxThread(\(summary.id), \(state.rawValue), unread: \(summary.unreadCount))" }
}

/// Where the next page of ``ReadTransaction/listInbox(fields:state:assignment:limit:after:)`` starts: the last
/// thread of a page
/// (keyset paging on last activity and ID, stable while new mail arrives).
public struct InboxCursor: Hashable, Sendable, CustomStringConvertible {
    /// The last activity of the last listed thread, in store milliseconds.
    public var lastActivityMilliseconds: Int64
    /// The ID of the last listed thread.
    public var id: ThreadID
    /// In a ``InboxOrder/waitingFirst`` list: true once the pages have reached the threads that wait for nobody
    /// (the key is then their last activity, else the waiting time). Text form: an `a` before the milliseconds.
    public var inAnsweredPart = false

    /// The cursor after `thread`.
    public init(after thread: InboxThread) {
        lastActivityMilliseconds = thread.summary.lastActivityAt.storeMilliseconds
        id = thread.id
    }

    /// The cursor after `thread` in a list of `order` (for ``InboxOrder/longestWaiting`` the key is the
    /// thread's ``InboxThread/waitingSince``, kept in ``lastActivityMilliseconds``).
    public init(after thread: InboxThread, order: InboxOrder) {
        self.init(after: thread)
        switch order {
        case .lastActivity: break
        case .longestWaiting:
            if let waiting = thread.waitingSince { lastActivityMilliseconds = waiting.storeMilliseconds }
        case .waitingFirst:
            if let waiting = thread.waitingSince, thread.summary.state != .closed {
                lastActivityMilliseconds = waiting.storeMilliseconds
            } else {
                inAnsweredPart = true
            }
        }
    }

    /// Parses the text form `<milliseconds>.<thread id>` (from a URL); nil if malformed.
    public init?(_ text: String) {
        let answered = text.hasPrefix("a")
        guard let (milliseconds, idText) = KeysetText.parse(answered ? String(text.dropFirst()) : text),
            let id = try? ThreadID(idText)
        else { return nil }
        lastActivityMilliseconds = milliseconds
        self.id = id
        inAnsweredPart = answered
    }

    /// The text form for URLs and JSON.
    public var text: String { "\(inAnsweredPart ? "a" : "")\(lastActivityMilliseconds).\(id.unredactedDescription)" }
    public var description: String { "InboxCursor(<redacted>)" }
}

/// The order of an inbox list.
public enum InboxOrder: String, Hashable, Sendable, CaseIterable {
    /// Most recent activity first (every thread).
    case lastActivity = "activity"
    /// Threads waiting for an answer only, the longest waiting first (see ``InboxThread/waitingSince``).
    case longestWaiting = "waiting"
    /// Every thread: first those waiting for an answer (not closed), the longest waiting first, then the rest by
    /// most recent activity. A thread the team just answered moves down to the rest instead of jumping to the
    /// top, as it would by last activity. The web inbox's default (issue 22).
    case waitingFirst = "waiting-first"
}

/// Which threads a list shows by assignment.
public enum InboxAssignmentFilter: Hashable, Sendable {
    /// Threads assigned to this account.
    case assignedTo(AccountID)
    /// Threads assigned to nobody.
    case unassigned
}

/// The text form of keyset cursors, `<milliseconds>.<128-bit hex ID>`: at most 16 decimal digits, a dot, the ID.
enum KeysetText {
    static func parse(_ text: String) -> (Int64, String)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 16, parts[0].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let milliseconds = Int64(parts[0])
        else { return nil }
        return (milliseconds, String(parts[1]))
    }
}

/// A position in a thread's message order (received time, then message ID): the key of keyset paging through the
/// messages of ``ReadTransaction/openInboxThread(_:page:)``. Carries no content.
public struct MessageCursor: Hashable, Sendable, CustomStringConvertible {
    /// The received time of the message, in store milliseconds.
    public var receivedAtMilliseconds: Int64
    /// The message's ID.
    public var id: StoredMessageID

    /// The position of a stored message (from its row, not from a `Date`, so no rounding moves it).
    init(receivedAtMilliseconds: Int64, id: StoredMessageID) {
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.id = id
    }

    /// Parses the text form `<milliseconds>.<message id>` (from a URL); nil if malformed.
    public init?(_ text: String) {
        guard let (milliseconds, idText) = KeysetText.parse(text), let id = try? StoredMessageID(idText) else {
            return nil
        }
        receivedAtMilliseconds = milliseconds
        self.id = id
    }

    /// The text form for URLs and JSON.
    public var text: String { "\(receivedAtMilliseconds).\(id.unredactedDescription)" }
    public var description: String { "MessageCursor(<redacted>)" }
}

/// Which messages of a thread one view decrypts: at most `limit` of them, the newest by default, or those just
/// before or after a ``MessageCursor``. The page itself is always oldest first.
///
/// ```swift
/// let newest = try tx.openInboxThread(id)                                   // the last 50 messages
/// let earlier = try tx.openInboxThread(id, page: .init(.before(newest.page.earlierCursor!)))
/// ```
public struct MessagePageRequest: Hashable, Sendable {
    public enum Anchor: Hashable, Sendable {
        /// The newest messages.
        case newest
        /// The messages just before this position (not including it).
        case before(MessageCursor)
        /// The messages just after this position (not including it).
        case after(MessageCursor)
    }

    /// Messages per page unless asked otherwise.
    public static let defaultLimit = 50
    /// The most messages one view decrypts.
    public static let maximumLimit = 200

    public var anchor: Anchor
    /// 1…``maximumLimit``.
    public var limit: Int

    public init(_ anchor: Anchor = .newest, limit: Int = MessagePageRequest.defaultLimit) {
        self.anchor = anchor
        self.limit = limit
    }
}

/// Where a page of messages stands in its thread: how many messages (and how many of them unread before this view)
/// come before and after it, and the cursors to reach them. Counts only; nothing decrypted.
public struct MessagePageInfo: Hashable, Sendable, CustomStringConvertible {
    /// Messages older than the page.
    public var earlierCount = 0
    /// Of those, the ones not read before this view.
    public var earlierUnreadCount = 0
    /// Messages newer than the page.
    public var laterCount = 0
    /// Of those, the ones not read before this view.
    public var laterUnreadCount = 0
    /// Pass as ``MessagePageRequest/Anchor/before(_:)`` for the previous page; nil if there is none.
    public var earlierCursor: MessageCursor?
    /// Pass as ``MessagePageRequest/Anchor/after(_:)`` for the next page; nil if there is none.
    public var laterCursor: MessageCursor?

    public var description: String { "MessagePageInfo(earlier: \(earlierCount), later: \(laterCount))" }
}

/// The metadata of a stored attachment (content not decrypted).
public struct AttachmentInfo: Hashable, Sendable, CustomStringConvertible {
    /// Position within its message (0-based), the key for downloading it.
    public var position: Int
    /// The file name as the sender gave it (decrypted).
    public var name: String
    /// The media type as the sender declared it (decrypted; never trusted for rendering).
    public var mediaType: String
    /// Size in octets.
    public var size: Int

    public var description: String { "AttachmentInfo(#\(position), \(size) bytes)" }
}

/// A decrypted message for display: everything but attachment content.
public struct InboxMessage: Hashable, Sendable, CustomStringConvertible {
    public var id: StoredMessageID
    public var direction: MessageDirection
    public var subject: String
    /// The raw decrypted MIME entity (or bare text for inline PGP).
    public var body: [UInt8]
    public var attachments: [AttachmentInfo]
    public var verdict: SignatureVerdictCode
    /// Who signed it, where the signature was good; nil otherwise.
    public var signer: MessageSigner?
    public var receivedAt: Date
    /// Whether it was read before this view (outbound messages are always read).
    public var wasRead: Bool
    /// For a counsellor reply: who wrote it and how far its delivery got (nil for inbound messages and for
    /// replies stored before schema v17 without an audit trail).
    public var delivery: ReplyDelivery? = nil

    public var description: String { "InboxMessage(\(id), \(direction), \(body.count) bytes, <redacted>)" }
}

/// Another thread of the same counselling field written from the same client address with a different key.
public struct KeyChangeThread: Hashable, Sendable, CustomStringConvertible {
    public var id: ThreadID
    public var createdAt: Date
    /// True if that thread is older than the one being looked at (the client's key changed since).
    public var isEarlier: Bool

    public var description: String { "KeyChangeThread(\(id), earlier: \(isEarlier))" }
}

/// What is known about a client key change for a thread (see ``ReadTransaction/clientKeyChange(of:)``).
public struct ClientKeyChange: Hashable, Sendable, CustomStringConvertible {
    /// Threads of the same field and address with another key, oldest first.
    public var otherThreads: [KeyChangeThread]
    /// When a counsellor confirmed that this thread's key belongs to the client of the earlier threads.
    public var confirmedAt: Date?

    /// True if an earlier thread with another key exists and nobody confirmed the change yet.
    public var needsConfirmation: Bool { confirmedAt == nil && otherThreads.contains(where: \.isEarlier) }

    public var description: String {
        "ClientKeyChange(others: \(otherThreads.count), confirmed: \(confirmedAt != nil))"
    }
}

/// A thread opened for a counsellor: list metadata, client identity and one page of messages (oldest first).
public struct InboxThreadView: Sendable, CustomStringConvertible {
    public var thread: InboxThread
    /// The client's key fingerprint (decrypted); nil for a thread without key (issue 17: no key to reply to yet).
    public var clientKey: ClientKeyFingerprint?
    /// The client's address (decrypted).
    public var clientAddress: ClientAddress
    /// One page of the thread's messages (see ``MessagePageRequest``), oldest first.
    public var messages: [InboxMessage]
    /// Where ``messages`` stands in the thread.
    public var page: MessagePageInfo
    /// Set when the same address wrote in this field with another key.
    public var keyChange: ClientKeyChange?
    /// The counsellor replies of the whole thread that wait for a usable client key (not sent), oldest first.
    public var heldReplies: [StoredMessageID] = []

    public var description: String { "InboxThreadView(\(thread.id), messages: \(messages.count), \(page))" }
}
