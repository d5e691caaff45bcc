// Security: the counsellor side's reads and writes of threads, on any engine. Each method checks, inside its own
// transaction, that the thread exists and that the asking account may see its field; a thread it may not see is
// `threadNotFound`, exactly as a missing one, so IDs of other fields cannot be probed. Content is decrypted only in
// the transaction that writes its audit row, and returned only after that row is committed with it. Audit rows
// name the actor, the channel, the thread and opaque IDs; never content.

public import Foundation

/// Which counselling fields an account may see in the inbox.
public struct InboxScope: Hashable, Sendable, CustomStringConvertible {
    /// The fields; nil: every field (team leads).
    public var fields: Set<CounsellingField>?

    /// Every field (a team lead's scope).
    public static let everyField = InboxScope(fields: nil)

    public init(fields: Set<CounsellingField>?) { self.fields = fields }

    /// Whether a thread of `field` is in the scope.
    public func includes(_ field: CounsellingField) -> Bool { fields?.contains(field) ?? true }

    public var description: String { fields.map { "InboxScope(\($0.count) fields)" } ?? "InboxScope(every field)" }
}

/// The account an inbox operation acts for: who is audited, through which channel, and what it may see.
public struct InboxActor: Hashable, Sendable, CustomStringConvertible {
    public var account: AccountID
    /// How the account came (browser, API token); recorded with each audit row.
    public var channel: AuditChannel?
    public var scope: InboxScope

    public init(account: AccountID, channel: AuditChannel?, scope: InboxScope) {
        self.account = account
        self.channel = channel
        self.scope = scope
    }

    public var description: String { "InboxActor(\(account), \(scope))" }
}

/// The counsellor inbox's transactions, on any engine (issue 21: "the inbox of a counsellor logged in on node A
/// shows what node B imported").
///
/// Each method is one transaction on its engine. `ThreadStoreInbox` runs the ``ReadTransaction`` and
/// ``WriteTransaction`` methods the web inbox ran before (SQLite); `PostgresThreads` (StorePostgres) runs the same
/// statements on PostgreSQL. The access rule (``InboxScope``) is checked in the transaction that reads or changes
/// the thread, so a thread moved or deleted in between is not found rather than shown.
///
/// ```swift
/// let inbox: any InboxStore = ThreadStoreInbox(store)       // or a PostgresThreads
/// let page = try await inbox.listInbox(scope: actor.scope, state: .new, limit: 50, after: nil)
/// let view = try await inbox.openThread(page[0].id, page: MessagePageRequest(), by: actor, event: .threadViewed)
/// ```
public protocol InboxStore: Sendable {
    /// ``ReadTransaction/listInbox(fields:state:assignment:order:limit:after:)`` for the fields of `scope`.
    /// - Throws: ``ThreadStoreError/limitExceeded`` for a `limit` outside 1…`maximumPageSize` or too many fields.
    func listInbox(scope: InboxScope, state: InboxState?, assignment: InboxAssignmentFilter?, order: InboxOrder,
                   limit: Int, after cursor: InboxCursor?) async throws -> [InboxThread]
    /// The list entry of a thread in `scope`, or nil (missing, or of a field outside it). Decrypts nothing.
    func inboxThread(_ id: ThreadID, scope: InboxScope) async throws -> InboxThread?
    /// Decrypts one page of a thread (``ReadTransaction/openInboxThread(_:page:)``) and records the read
    /// (``WriteTransaction/recordThreadRead(_:actor:event:shown:)`` with the page's messages), in one transaction.
    /// - Throws: ``ThreadStoreError/threadNotFound`` (missing or outside the actor's scope);
    ///   ``ThreadStoreError/limitExceeded`` for a bad page limit; ``ThreadStoreError/invalidValue`` for an event
    ///   other than `threadViewed` and `threadExported`.
    func openThread(_ id: ThreadID, page: MessagePageRequest, by actor: InboxActor, event: AuditEvent) async throws
        -> InboxThreadView
    /// Decrypts a whole thread for the administrator on the server (`mailbridge thread show`) and audits
    /// ``AuditEvent/threadExported`` with no account through `channel`, in one transaction. Marks nothing read;
    /// no scope: the command line is the installation's administrator.
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/unsealingFailed`` if a value was altered.
    func exportThread(_ id: ThreadID, via channel: AuditChannel) async throws -> OpenedThread
    /// Decrypts one attachment and audits ``AuditEvent/attachmentDownloaded`` (item: the message, count: the
    /// position).
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/messageNotFound`` (no such message in the
    ///   thread, or no such attachment).
    func attachment(thread: ThreadID, message: StoredMessageID, position: Int, by actor: InboxActor) async throws
        -> StoredAttachment
    /// Decrypts one message's body, hands it to `extract` (which picks the part to hand out, or nil) and, only for
    /// a part, audits ``AuditEvent/threadExported`` (item: the message, count: `index`), in one transaction.
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/messageNotFound`` (no such message in the
    ///   thread, or `extract` found no part).
    func exportPart(thread: ThreadID, message: StoredMessageID, index: Int, by actor: InboxActor,
                    extract: @escaping @Sendable ([UInt8]) -> [UInt8]?) async throws -> [UInt8]
    /// Sets the stored state (audited ``AuditEvent/threadStateChanged`` with the actor) and returns the entry.
    /// - Throws: ``ThreadStoreError/threadNotFound``.
    func setState(_ state: ThreadState, of id: ThreadID, by actor: InboxActor) async throws -> InboxThread
    /// Assigns the thread to `account` (nil: unassigns; audited ``AuditEvent/threadAssigned``) and returns the
    /// entry. `mayTake` decides, in the transaction, whether the target account may hold a thread of that field.
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/invalidValue`` if the account is
    ///   missing, disabled or refused by `mayTake`.
    func assign(_ id: ThreadID, to account: AccountID?, by actor: InboxActor,
                mayTake: @escaping @Sendable (Account, CounsellingField) -> Bool) async throws -> InboxThread
    /// Confirms a client key change (``WriteTransaction/confirmClientKeyChange(of:actor:)``).
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/invalidValue`` if there is nothing to
    ///   confirm.
    func confirmClientKeyChange(of id: ThreadID, by actor: InboxActor) async throws
    /// Crypto-shreds the thread (its data key and every row of it; audited ``AuditEvent/threadDeleted``).
    /// - Throws: ``ThreadStoreError/threadNotFound``.
    func deleteThread(_ id: ThreadID, by actor: InboxActor) async throws
    /// Every account, by user name (no secrets).
    func accounts() async throws -> [Account]
    /// ``ReadTransaction/notificationSettings(of:)`` (the sealed address opened), or nil for no such account.
    func notificationSettings(of account: AccountID) async throws -> NotificationSettings?
    /// ``WriteTransaction/setNotificationSettings(_:of:actor:)``: the address sealed to the account's row, audited
    /// ``AuditEvent/notificationSettingsChanged`` (the mode, never the address).
    /// - Throws: ``ThreadStoreError/accountNotFound``.
    func setNotificationSettings(_ settings: NotificationSettings, of account: AccountID, actor: AccountID?,
                                 via channel: AuditChannel?) async throws
    /// Display names of accounts (unknown IDs left out; at most 500).
    func displayNames(of accounts: Set<AccountID>) async throws -> [AccountID: String]
}

extension InboxStore {
    /// A first page by last activity.
    public func listInbox(scope: InboxScope, state: InboxState? = nil) async throws -> [InboxThread] {
        try await listInbox(scope: scope, state: state, assignment: nil, order: .lastActivity, limit: 50, after: nil)
    }
}
