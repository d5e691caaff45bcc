import Foundation
import GRDB

extension ReadTransaction {
    /// What a counsellor reply needs from its thread, and nothing more: the summary, the client identity
    /// (decrypted) and the Message-ID and subject of the newest inbound message (decrypted; its body, the other
    /// messages and all attachments stay sealed). The cost does not grow with the thread: one index step back
    /// from the newest message (`message_by_thread_order`).
    /// - Throws: ``ThreadStoreError/threadNotFound``; ``ThreadStoreError/unsealingFailed`` if a value was altered.
    public func replyBasis(_ id: ThreadID) throws -> ReplyBasis {
        guard let record = try ThreadRecord.fetch(db, id: id), let summary = try Queries.threadSummary(db, id: id)
        else { throw ThreadStoreError.threadNotFound }
        let key = try Queries.dataKey(db, context: context, thread: id)
        let clientKey = try Sealing.openString(
            record.clientKeySealed, key: key, context: ThreadRecord.context("client_key_sealed", thread: id))
        let clientAddress = try Sealing.openString(
            record.clientAddressSealed, key: key, context: ThreadRecord.context("client_address_sealed", thread: id))
        var lastInbound: ReplyBasis.InboundHeaders?
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT id, header_message_id_sealed, subject_sealed FROM message
                WHERE thread_id = ? AND direction = ? ORDER BY received_at DESC, id DESC LIMIT 1
                """),
            arguments: [id.raw.text, MessageDirection.inbound.rawValue])
        {
            guard let message = try? StoredMessageID(row["id"] as String) else {
                throw ThreadStoreError.databaseCorrupt
            }
            func open(_ column: String) throws -> String {
                try Sealing.openString(row[column], key: key,
                                       context: MessageRecord.context(column, thread: id, message: message))
            }
            lastInbound = ReplyBasis.InboundHeaders(messageID: try open("header_message_id_sealed"),
                                                    subject: try open("subject_sealed"))
        }
        return ReplyBasis(summary: summary, clientKey: try Queries.clientKey(db, thread: id, sealed: clientKey),
                          clientAddress: try ClientAddress(clientAddress), lastInbound: lastInbound)
    }
}
