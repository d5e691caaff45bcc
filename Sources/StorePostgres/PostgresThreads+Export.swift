// Security: the command line's whole-thread read on PostgreSQL (`mailbridge thread show`). The rows are read, opened
// in this process and audited in one transaction; the content leaves only after the audit row has committed with
// it, and a value that does not open rolls the audit row back, as on SQLite.

import Foundation
import PostgresNIO
public import ThreadStore

extension PostgresThreads {
    public func exportThread(_ id: ThreadID, via channel: AuditChannel) async throws -> OpenedThread {
        let (secrets, logger) = (self.secrets, self.logger)
        return try await database.write { connection in
            let rows = rows(connection)
            let summary = try await rows.requireInboxThread(id, in: .everyField).summary
            let sealed = try await SealedThreadContent.read(id, on: connection, logger: logger)
            let dataKey = try secrets.openDataKey(sealed.wrappedKey, thread: id)
            let (clientKey, clientAddress) = try secrets.openClient(
                clientKeySealed: sealed.clientKeySealed, clientAddressSealed: sealed.clientAddressSealed,
                awaitingKey: sealed.awaitingKey, with: dataKey)
            let messages = try sealed.messages.map { message throws(ThreadStoreError) in
                try secrets.openMessage(message, with: dataKey)
            }
            let held = try await rows.heldReplyIDs(id)
            try await rows.auditAccess(.threadExported, actor: nil, channel: channel, thread: id)
            return OpenedThread(summary: summary, clientKey: clientKey, clientAddress: clientAddress,
                                messages: messages, heldReplies: held)
        }
    }
}
