// Security: the counsellor inbox's statements on PostgreSQL, as ThreadStore's SQLite reads and writes them. Rows
// leave the database sealed and are opened by the caller with StoreSecrets; the list reads IDs, codes, times and
// counts only. Audit rows name actor, channel, thread and opaque IDs. Nothing is logged but SQLSTATE codes.

import Foundation
import Logging
import NIOCore
import PostgresNIO
import ThreadStore

/// A thread's sealed columns an opened inbox page needs.
struct SealedInboxThread: Sendable {
    var clientKeySealed: Data
    var clientAddressSealed: Data
    var awaitingKey: Bool
    var wrappedKey: Data
}

extension PostgresThreadRows {
    // MARK: The list

    func inboxThreads(_ query: InboxListQuery) async throws -> [InboxThread] {
        var binds = PostgresBindings()
        for value in query.values {
            switch value {
            case .text(let text): binds.append(text)
            case .integer(let integer): binds.append(integer)
            }
        }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: query.sql, binds: binds), logger: logger)
        var threads: [InboxThread] = []
        for try await (id, field, state, created, activity, assignee, viewed, waiting, messages, unread, isNew)
            in rows.decode((String, String, Int, Int64, Int64, String?, Int64?, Int64?, Int64, Int64, Bool).self)
        {
            threads.append(try InboxThread.stored(
                id: try ThreadID(id), field: try CounsellingField(field), stateCode: state, isNew: isNew,
                createdAt: created, lastActivityAt: activity, messageCount: Int(messages), unreadCount: Int(unread),
                assignedTo: try assignee.map { try AccountID($0) }, firstViewedAt: viewed, waitingSince: waiting))
        }
        return threads
    }

    /// The list entry of a thread in `scope`, or nil.
    /// The scope is checked on the thread's field alone (one primary-key look-up) before the list entry is read
    /// (which counts its messages), so a thread outside the scope costs what a missing one costs (issue 29).
    func inboxThread(_ id: ThreadID, in scope: InboxScope) async throws -> InboxThread? {
        var field: String?
        for try await found in try await connection.query(
            "SELECT field FROM thread WHERE id = \(id.unredactedDescription)", logger: logger).decode(String.self)
        {
            field = found
        }
        guard let field, let parsed = try? CounsellingField(field), scope.includes(parsed) else { return nil }
        // A thread's field never changes: the entry is of the field just checked.
        return try await inboxThreads(InboxListing.entry(id, .postgresql)).first
    }

    @discardableResult
    func requireInboxThread(_ id: ThreadID, in scope: InboxScope) async throws -> InboxThread {
        guard let thread = try await inboxThread(id, in: scope) else { throw ThreadStoreError.threadNotFound }
        return thread
    }

    // MARK: A thread's sealed columns and key change (replies, confirming a key change)

    func sealedInboxThread(_ id: ThreadID) async throws -> SealedInboxThread {
        let rows = try await connection.query("""
            SELECT t.client_key_sealed, t.client_address_sealed, t.awaiting_key, k.wrapped_key
            FROM thread t JOIN thread_key k ON k.thread_id = t.id WHERE t.id = \(id.unredactedDescription)
            """, logger: logger)
        for try await (key, address, awaiting, wrapped) in rows.decode((Data, Data, Bool, Data).self) {
            return SealedInboxThread(clientKeySealed: key, clientAddressSealed: address, awaitingKey: awaiting,
                                     wrappedKey: wrapped)
        }
        throw ThreadStoreError.threadNotFound
    }

    /// ``ReadTransaction/clientKeyChange(of:)`` on keyed HMACs only.
    func clientKeyChange(of thread: ThreadID) async throws -> ClientKeyChange? {
        let id = thread.unredactedDescription
        let rows = try await connection.query("""
            SELECT field, client_key_hmac, client_address_hmac, created_at, key_change_confirmed_at
            FROM thread WHERE id = \(id)
            """, logger: logger)
        var found: (String, Data, Data?, Int64, Int64?)?
        for try await row in rows.decode((String, Data, Data?, Int64, Int64?).self) { found = row }
        guard let (field, keyHMAC, addressHMAC, createdAt, confirmedAt) = found else {
            throw ThreadStoreError.threadNotFound
        }
        guard let addressHMAC else { return nil }
        let others = try await connection.query("""
            SELECT id, created_at FROM thread
            WHERE field = \(field) AND client_address_hmac = \(addressHMAC) AND client_key_hmac != \(keyHMAC)
                AND id != \(id)
            ORDER BY created_at, id LIMIT 20
            """, logger: logger)
        var threads: [(ThreadID, Int64)] = []
        for try await (other, created) in others.decode((String, Int64).self) {
            threads.append((try ThreadID(other), created))
        }
        return ClientKeyChange.of(thread, createdAt: createdAt, others: threads, confirmedAt: confirmedAt)
    }

    /// The held replies of a thread, oldest first.
    func heldReplyIDs(_ thread: ThreadID) async throws -> [StoredMessageID] {
        let rows = try await connection.query("""
            SELECT h.message_id FROM held_reply h JOIN message m ON m.id = h.message_id
            WHERE h.thread_id = \(thread.unredactedDescription) ORDER BY m.received_at, m.id
            """, logger: logger)
        var ids: [StoredMessageID] = []
        for try await id in rows.decode(String.self) { ids.append(try StoredMessageID(id)) }
        return ids
    }

    // MARK: Writing

    /// ``WriteTransaction/setState(_:of:actor:)``: the stored state, audited with the actor.
    func setState(_ state: ThreadState, of thread: ThreadID, actor: AccountID?, channel: AuditChannel?)
        async throws
    {
        try await connection.query(
            "UPDATE thread SET state = \(state.rawValue) WHERE id = \(thread.unredactedDescription)", logger: logger)
        try await auditAccess(.threadStateChanged, actor: actor, channel: channel, thread: thread,
                              count: state.rawValue)
    }

    /// ``WriteTransaction/assign(_:to:actor:)`` once the caller checked the account: audited with the account (nil:
    /// unassigned) as item.
    func assign(_ thread: ThreadID, to account: AccountID?, actor: AccountID?, channel: AuditChannel?) async throws {
        try await connection.query("""
            UPDATE thread SET assigned_to = \(account?.unredactedDescription) WHERE id = \(thread.unredactedDescription)
            """, logger: logger)
        try await auditAccess(.threadAssigned, actor: actor, channel: channel, thread: thread,
                              itemID: account?.unredactedDescription)
    }

    /// Crypto-shreds a thread (as `shred` on SQLite): its wrapped data key, then the thread, whose messages,
    /// attachments, outbox items and held replies go by cascade; audited `event`.
    func shred(_ thread: ThreadID, event: AuditEvent, actor: AccountID?, channel: AuditChannel?) async throws {
        let id = thread.unredactedDescription
        try await connection.query("DELETE FROM thread_key WHERE thread_id = \(id)", logger: logger)
        try await connection.query("DELETE FROM thread WHERE id = \(id)", logger: logger)
        try await auditAccess(event, actor: actor, channel: channel, thread: thread)
    }

    /// Appends an audit row of what an account did (``WriteTransaction/recordAccess(_:actor:thread:itemID:count:)``).
    func auditAccess(_ event: AuditEvent, actor: AccountID?, channel: AuditChannel?, thread: ThreadID?,
                     itemID: String? = nil, count: Int? = nil) async throws {
        try await connection.query("""
            INSERT INTO audit (at, event, thread_id, item_id, count, actor_id, channel, token_id)
            VALUES (\(StoreTime.milliseconds(now)), \(event.rawValue), \(thread?.unredactedDescription), \(itemID),
                    \(count), \(actor?.unredactedDescription), \(channel?.storedCode), \(channel?.storedTokenID))
            """, logger: logger)
    }

    static func binds(_ values: any PostgresNonThrowingEncodable...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }
}
