import Foundation
import GRDB

extension WriteTransaction {
    /// Records that `actor` read `thread`: marks its inbound messages read, remembers the first view (the thread
    /// stops being "new") and appends `event` (``AuditEvent/threadViewed`` for the web page,
    /// ``AuditEvent/threadExported`` when the API hands the thread to a platform). Returns how many messages
    /// were unread.
    ///
    /// With `shown` (the messages of the page that was decrypted), only those are marked read, and the audit entry
    /// names the first of them (`itemID`) and how many were shown (`count`), so unread messages on other pages
    /// stay unread and the log tells which part of a long thread was read.
    @discardableResult
    public func recordThreadRead(_ thread: ThreadID, actor: AccountID, event: AuditEvent = .threadViewed,
                                 shown: [StoredMessageID]? = nil) throws -> Int
    {
        guard event == .threadViewed || event == .threadExported else { throw ThreadStoreError(.invalidValue) }
        var unread = 0
        if let shown {
            try requireThread(thread)
            for message in shown {
                try db.cachedStatement(
                    sql: "UPDATE message SET is_read = 1 WHERE id = ? AND thread_id = ? AND is_read = 0"
                ).execute(arguments: [message.raw.text, thread.raw.text])
                unread += db.changesCount
            }
        } else {
            unread = try markRead(thread: thread)
        }
        try db.cachedStatement(sql: "UPDATE thread SET first_viewed_at = coalesce(first_viewed_at, ?) WHERE id = ?")
            .execute(arguments: [now.storeMilliseconds, thread.raw.text])
        try recordAccess(event, actor: actor, thread: thread, itemID: shown?.first?.unredactedDescription,
                         count: shown?.count)
        return unread
    }

    /// Assigns `thread` to `account` (nil: unassigns) and audits ``AuditEvent/threadAssigned`` with the account
    /// as `itemID`.
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/invalidValue`` if the account does not
    ///   exist or is disabled.
    public func assign(_ thread: ThreadID, to account: AccountID?, actor: AccountID?) throws {
        if let account {
            let active = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM account WHERE id = ? AND disabled = 0)"),
                arguments: [account.unredactedDescription])
            guard active == true else { throw ThreadStoreError(.invalidValue) }
        }
        try db.cachedStatement(sql: "UPDATE thread SET assigned_to = ? WHERE id = ?").execute(
            arguments: [account?.unredactedDescription, thread.raw.text])
        if db.changesCount == 0 { throw ThreadStoreError.threadNotFound }
        try recordAccess(.threadAssigned, actor: actor, thread: thread, itemID: account?.unredactedDescription)
    }

    /// Records that `actor` checked that the client of `thread` is the client of the earlier thread(s) of the
    /// same field and address with another key (see ``ReadTransaction/clientKeyChange(of:)``). Audits
    /// ``AuditEvent/clientKeyChangeConfirmed`` with the newest earlier thread as `itemID`.
    /// - Throws: ``ThreadStoreError/invalidValue`` if there is no earlier thread with another key, or the change
    ///   was confirmed already.
    public func confirmClientKeyChange(of thread: ThreadID, actor: AccountID) throws {
        guard let change = try reader.clientKeyChange(of: thread), change.confirmedAt == nil,
            let earlier = change.otherThreads.last(where: \.isEarlier)
        else { throw ThreadStoreError(.invalidValue) }
        try db.cachedStatement(sql: "UPDATE thread SET key_change_confirmed_at = ? WHERE id = ?").execute(
            arguments: [now.storeMilliseconds, thread.raw.text])
        try recordAccess(.clientKeyChangeConfirmed, actor: actor, thread: thread,
                         itemID: earlier.id.unredactedDescription)
    }
}
