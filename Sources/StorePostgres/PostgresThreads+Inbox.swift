// Security: the counsellor inbox on PostgreSQL (issue 21). Each method is one transaction that checks the actor's
// scope, reads sealed rows, opens them in this process with the thread's data key (StoreSecrets) and writes its
// audit row; a value that does not open rolls the transaction back, audit row included, as on SQLite.

import Foundation
import Logging
import PostgresNIO
public import ThreadStore

extension PostgresThreads: InboxStore {
    public func listInbox(scope: InboxScope, state: InboxState?, assignment: InboxAssignmentFilter?,
                          order: InboxOrder, limit: Int, after cursor: InboxCursor?) async throws -> [InboxThread] {
        guard
            let listing = try InboxListing(fields: scope.fields, state: state, assignment: assignment, order: order,
                                           limit: limit, after: cursor,
                                           maximumPageSize: configuration.maximumPageSize)
        else { return [] }
        return try await database.read { connection in
            let rows = rows(connection)
            return try await listing.run(.postgresql) { query in try await rows.inboxThreads(query) }
        }
    }

    public func inboxThread(_ id: ThreadID, scope: InboxScope) async throws -> InboxThread? {
        try await database.read { connection in try await rows(connection).inboxThread(id, in: scope) }
    }

    /// One transaction of three round trips: `BEGIN`, the statement that checks the scope, reads the page and
    /// writes the read marks and the audit row (`openInboxPage`), and `COMMIT`, which waits for the audit row's
    /// flush. The rows are opened between the last two, so a value that does not open rolls the audit row back.
    public func openThread(_ id: ThreadID, page request: MessagePageRequest, by actor: InboxActor,
                           event: AuditEvent) async throws -> InboxThreadView {
        let (secrets, maximumPageSize) = (self.secrets, configuration.maximumPageSize)
        return try await database.write { connection in
            let rows = rows(connection)
            let limitAllowed = request.limit > 0 && request.limit <= MessagePageRequest.maximumLimit
                && request.limit <= maximumPageSize
            guard limitAllowed, event == .threadViewed || event == .threadExported else {
                // In the order the checks had when they were separate statements: a thread outside the scope is
                // not found whatever the request, then the limit, then the event.
                try await rows.requireInboxThread(id, in: actor.scope)
                guard limitAllowed else { throw ThreadStoreError.limitExceeded }
                throw ThreadStoreError(.invalidValue)
            }
            let opened = try await rows.openInboxPage(id, request, scope: actor.scope, actor: actor.account,
                                                      channel: actor.channel, event: event)
            let dataKey = try secrets.openDataKey(opened.sealed.wrappedKey, thread: id)
            let (clientKey, clientAddress) = try secrets.openClient(
                clientKeySealed: opened.sealed.clientKeySealed, clientAddressSealed: opened.sealed.clientAddressSealed,
                awaitingKey: opened.sealed.awaitingKey, with: dataKey)
            let messages = try opened.messages.map { message throws(ThreadStoreError) in
                try secrets.openInboxMessage(message.sealed, attachments: message.attachments,
                                             delivery: message.delivery, with: dataKey)
            }
            return InboxThreadView.stored(
                thread: opened.thread, clientKey: clientKey, clientAddress: clientAddress, messages: messages,
                page: opened.page, keyChange: opened.keyChange, heldReplies: opened.heldReplies)
        }
    }

    public func attachment(thread: ThreadID, message: StoredMessageID, position: Int, by actor: InboxActor)
        async throws -> StoredAttachment
    {
        let secrets = self.secrets
        return try await database.write { connection in
            let rows = rows(connection)
            try await rows.requireInboxThread(thread, in: actor.scope)
            let found = try await connection.query("""
                SELECT a.size, a.name_sealed, a.media_type_sealed, a.content_sealed
                FROM attachment a JOIN message m ON m.id = a.message_id
                WHERE m.thread_id = \(thread.unredactedDescription) AND a.message_id = \(message.unredactedDescription)
                    AND a.position = \(position)
                """, logger: rows.logger)
            var sealed: SealedAttachment?
            for try await (size, name, mediaType, content) in found.decode((Int, Data, Data, Data).self) {
                sealed = SealedAttachment(position: position, size: size, nameSealed: name,
                                          mediaTypeSealed: mediaType, contentSealed: content)
            }
            guard let sealed else { throw ThreadStoreError.messageNotFound }
            let dataKey = try await rows.dataKey(thread, secrets: secrets)
            let attachment = try secrets.openAttachment(sealed, message: message, with: dataKey)
            try await rows.auditAccess(.attachmentDownloaded, actor: actor.account, channel: actor.channel,
                                       thread: thread, itemID: message.unredactedDescription, count: position)
            return attachment
        }
    }

    public func exportPart(thread: ThreadID, message: StoredMessageID, index: Int, by actor: InboxActor,
                           extract: @escaping @Sendable ([UInt8]) -> [UInt8]?) async throws -> [UInt8] {
        let secrets = self.secrets
        return try await database.write { connection in
            let rows = rows(connection)
            try await rows.requireInboxThread(thread, in: actor.scope)
            let found = try await connection.query("""
                SELECT body_sealed FROM message
                WHERE id = \(message.unredactedDescription) AND thread_id = \(thread.unredactedDescription)
                """, logger: rows.logger)
            var sealed: Data?
            for try await body in found.decode(Data.self) { sealed = body }
            guard let sealed else { throw ThreadStoreError.messageNotFound }
            let dataKey = try await rows.dataKey(thread, secrets: secrets)
            guard let part = extract(try secrets.openMessageBody(sealed, message: message, with: dataKey)) else {
                throw ThreadStoreError.messageNotFound
            }
            try await rows.auditAccess(.threadExported, actor: actor.account, channel: actor.channel, thread: thread,
                                       itemID: message.unredactedDescription, count: index)
            return part
        }
    }

    public func setState(_ state: ThreadState, of id: ThreadID, by actor: InboxActor) async throws -> InboxThread {
        try await database.write { connection in
            let rows = rows(connection)
            try await rows.requireInboxThread(id, in: actor.scope)
            try await rows.setState(state, of: id, actor: actor.account, channel: actor.channel)
            return try await rows.requireInboxThread(id, in: .everyField)
        }
    }

    public func assign(_ id: ThreadID, to account: AccountID?, by actor: InboxActor,
                       mayTake: @escaping @Sendable (Account, CounsellingField) -> Bool) async throws -> InboxThread {
        try await database.write { connection in
            let rows = rows(connection)
            let thread = try await rows.requireInboxThread(id, in: actor.scope)
            if let account {
                guard
                    let target = try await PostgresAccountRows.find(
                        connection, id: account.unredactedDescription, logger: rows.logger),
                    !target.isDisabled, mayTake(target, thread.summary.field)
                else { throw ThreadStoreError(.invalidValue) }
            }
            try await rows.assign(id, to: account, actor: actor.account, channel: actor.channel)
            return try await rows.requireInboxThread(id, in: .everyField)
        }
    }

    public func confirmClientKeyChange(of id: ThreadID, by actor: InboxActor) async throws {
        try await database.write { connection in
            let rows = rows(connection)
            try await rows.requireInboxThread(id, in: actor.scope)
            guard let change = try await rows.clientKeyChange(of: id), change.confirmedAt == nil,
                let earlier = change.otherThreads.last(where: \.isEarlier)
            else { throw ThreadStoreError(.invalidValue) }
            try await connection.query("""
                UPDATE thread SET key_change_confirmed_at = \(StoreTime.milliseconds(rows.now))
                WHERE id = \(id.unredactedDescription)
                """, logger: rows.logger)
            try await rows.auditAccess(.clientKeyChangeConfirmed, actor: actor.account, channel: actor.channel,
                                       thread: id, itemID: earlier.id.unredactedDescription)
        }
    }

    /// Deletes the thread's rows: `thread_key` and, by cascade, its messages, attachments, outbox items and held
    /// replies. The wrapped key's octets stay in the table's free space and the WAL until `VACUUM FULL thread_key`
    /// and WAL recycling remove them (docs/postgresql.md, "Deleting a thread on PostgreSQL").
    public func deleteThread(_ id: ThreadID, by actor: InboxActor) async throws {
        try await database.write { connection in
            let rows = rows(connection)
            try await rows.requireInboxThread(id, in: actor.scope)
            try await rows.shred(id, event: .threadDeleted, actor: actor.account, channel: actor.channel)
        }
    }

    public func accounts() async throws -> [Account] {
        let logger = self.logger
        return try await database.read { connection in try await PostgresAccountRows.all(connection, logger: logger) }
    }

    public func notificationSettings(of account: AccountID) async throws -> NotificationSettings? {
        let (secrets, logger) = (self.secrets, self.logger)
        return try await database.read { connection in
            let rows = try await connection.query(
                "SELECT notify_address_sealed, notify_mode FROM account WHERE id = \(account.unredactedDescription)",
                logger: logger)
            for try await (sealed, mode) in rows.decode((Data?, Int).self) {
                guard let mode = NoticeMode(rawValue: mode) else { throw ThreadStoreError.databaseCorrupt }
                return NotificationSettings(
                    address: try sealed.map { try secrets.openNotificationAddress($0, of: account) }, mode: mode)
            }
            return nil
        }
    }

    public func setNotificationSettings(_ settings: NotificationSettings, of account: AccountID, actor: AccountID?,
                                        via channel: AuditChannel?) async throws {
        let sealed = try settings.address.map { try secrets.sealNotificationAddress($0, of: account) }
        try await database.write { connection in
            let rows = rows(connection)
            let updated = try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET notify_address_sealed = \(sealed), notify_mode = \(settings.mode.rawValue)
                WHERE id = \(account.unredactedDescription) RETURNING id
                """, logger: rows.logger))
            guard updated == 1 else { throw ThreadStoreError.accountNotFound }
            try await rows.auditAccess(.notificationSettingsChanged, actor: actor, channel: channel, thread: nil,
                                       itemID: account.unredactedDescription,
                                       count: settings.address == nil ? nil : settings.mode.rawValue)
        }
    }

    public func displayNames(of accounts: Set<AccountID>) async throws -> [AccountID: String] {
        guard !accounts.isEmpty else { return [:] }
        guard accounts.count <= 500 else { throw ThreadStoreError.limitExceeded }
        let logger = self.logger
        return try await database.read { connection in
            let rows = try await connection.query(
                "SELECT id, display_name FROM account WHERE id = ANY(\(accounts.map(\.unredactedDescription)))",
                logger: logger)
            var names: [AccountID: String] = [:]
            for try await (id, name) in rows.decode((String, String).self) { names[try AccountID(id)] = name }
            return names
        }
    }

    func rows(_ connection: PostgresConnection) -> PostgresThreadRows {
        PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock())
    }
}
