// Security: the counsellor inbox on SQLite, through the transaction methods the web inbox called before this seam
// (no new SQL, no new sealing). Each method checks the actor's scope in the transaction that decrypts or changes,
// and audits in that same transaction.

public import Foundation
import GRDB

/// ``InboxStore`` over a ``ThreadStore`` (SQLite): every method is one `read {}` or `write {}` of the store.
public struct ThreadStoreInbox: InboxStore {
    /// The store.
    public let store: ThreadStore

    /// The inbox of `store`.
    public init(_ store: ThreadStore) { self.store = store }

    public func listInbox(scope: InboxScope, state: InboxState?, assignment: InboxAssignmentFilter?,
                          order: InboxOrder, limit: Int, after cursor: InboxCursor?) async throws -> [InboxThread] {
        try await store.read { tx in
            try tx.listInbox(fields: scope.fields, state: state, assignment: assignment, order: order, limit: limit,
                             after: cursor)
        }
    }

    public func inboxThread(_ id: ThreadID, scope: InboxScope) async throws -> InboxThread? {
        try await store.read { tx in try Self.thread(tx, id, in: scope) }
    }

    public func openThread(_ id: ThreadID, page: MessagePageRequest, by actor: InboxActor, event: AuditEvent)
        async throws -> InboxThreadView
    {
        try await store.write(via: actor.channel) { tx in
            try Self.requireThread(tx.reader, id, in: actor.scope)
            let view = try tx.reader.openInboxThread(id, page: page)
            try tx.recordThreadRead(id, actor: actor.account, event: event, shown: view.messages.map(\.id))
            return view
        }
    }

    public func exportThread(_ id: ThreadID, via channel: AuditChannel) async throws -> OpenedThread {
        try await store.write(via: channel) { tx in
            let opened = try tx.openThread(id)
            try tx.recordAccess(.threadExported, actor: nil, thread: id)
            return opened
        }
    }

    public func attachment(thread: ThreadID, message: StoredMessageID, position: Int, by actor: InboxActor)
        async throws -> StoredAttachment
    {
        try await store.write(via: actor.channel) { tx in
            try Self.requireThread(tx.reader, thread, in: actor.scope)
            let attachment = try tx.reader.attachment(thread: thread, message: message, position: position)
            try tx.recordAccess(.attachmentDownloaded, actor: actor.account, thread: thread,
                                itemID: message.unredactedDescription, count: position)
            return attachment
        }
    }

    public func exportPart(thread: ThreadID, message: StoredMessageID, index: Int, by actor: InboxActor,
                           extract: @escaping @Sendable ([UInt8]) -> [UInt8]?) async throws -> [UInt8] {
        try await store.write(via: actor.channel) { tx in
            try Self.requireThread(tx.reader, thread, in: actor.scope)
            guard let part = extract(try tx.reader.messageBody(thread: thread, message: message)) else {
                throw ThreadStoreError.messageNotFound
            }
            try tx.recordAccess(.threadExported, actor: actor.account, thread: thread,
                                itemID: message.unredactedDescription, count: index)
            return part
        }
    }

    public func setState(_ state: ThreadState, of id: ThreadID, by actor: InboxActor) async throws -> InboxThread {
        try await store.write(via: actor.channel) { tx in
            try Self.requireThread(tx.reader, id, in: actor.scope)
            try tx.setState(state, of: id, actor: actor.account)
            guard let thread = try tx.reader.inboxThread(id) else { throw ThreadStoreError.threadNotFound }
            return thread
        }
    }

    public func assign(_ id: ThreadID, to account: AccountID?, by actor: InboxActor,
                       mayTake: @escaping @Sendable (Account, CounsellingField) -> Bool) async throws -> InboxThread {
        try await store.write(via: actor.channel) { tx in
            let thread = try Self.requireThread(tx.reader, id, in: actor.scope)
            if let account {
                guard let target = try tx.reader.account(account), !target.isDisabled,
                    mayTake(target, thread.summary.field)
                else { throw ThreadStoreError(.invalidValue) }
            }
            try tx.assign(id, to: account, actor: actor.account)
            guard let assigned = try tx.reader.inboxThread(id) else { throw ThreadStoreError.threadNotFound }
            return assigned
        }
    }

    public func confirmClientKeyChange(of id: ThreadID, by actor: InboxActor) async throws {
        try await store.write(via: actor.channel) { tx in
            try Self.requireThread(tx.reader, id, in: actor.scope)
            try tx.confirmClientKeyChange(of: id, actor: actor.account)
        }
    }

    public func deleteThread(_ id: ThreadID, by actor: InboxActor) async throws {
        // The scope check and the shred are two transactions here: the shred also truncates the WAL, which it can
        // only do outside a transaction. A thread's field never changes, so the check cannot go stale.
        _ = try await store.read { tx in try Self.requireThread(tx, id, in: actor.scope) }
        try await store.deleteThread(id, actor: actor.account, via: actor.channel)
    }

    public func accounts() async throws -> [Account] {
        try await store.read { tx in try tx.accounts() }
    }

    public func notificationSettings(of account: AccountID) async throws -> NotificationSettings? {
        try await store.read { tx in try tx.notificationSettings(of: account) }
    }

    public func setNotificationSettings(_ settings: NotificationSettings, of account: AccountID, actor: AccountID?,
                                        via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in try tx.setNotificationSettings(settings, of: account, actor: actor) }
    }

    public func displayNames(of accounts: Set<AccountID>) async throws -> [AccountID: String] {
        try await store.read { tx in try tx.displayNames(of: accounts) }
    }

    /// The scope is checked on the thread's field alone (one primary-key look-up) before its list entry is read
    /// (which counts its messages), so a thread outside the scope costs what a missing one costs (issue 29: another
    /// organisation's ID answers like one that does not exist, in timing too).
    private static func thread(_ tx: ReadTransaction, _ id: ThreadID, in scope: InboxScope) throws -> InboxThread? {
        guard let field = try String.fetchOne(
                tx.db.cachedStatement(sql: "SELECT field FROM thread WHERE id = ?"),
                arguments: [id.unredactedDescription]),
            let parsed = try? CounsellingField(field), scope.includes(parsed)
        else { return nil }
        return try tx.inboxThread(id)
    }

    @discardableResult
    private static func requireThread(_ tx: ReadTransaction, _ id: ThreadID, in scope: InboxScope) throws
        -> InboxThread
    {
        guard let thread = try thread(tx, id, in: scope) else { throw ThreadStoreError.threadNotFound }
        return thread
    }
}
