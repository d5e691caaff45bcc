// Security: opening what a counsellor reply needs from its thread, for a store engine that is not SQLite (issue
// 21): the newest inbound message's Message-ID and subject (never its body), and a held reply's Message-ID and
// inner part for encryption to the client. Seal contexts are MessageRecord's. Nothing here is logged.

import Crypto
public import Foundation

extension StoreSecrets {
    /// A reply's basis from the thread's list entry, its opened identity and the newest inbound message's sealed
    /// `header_message_id_sealed` and `subject_sealed` (nil: no inbound message).
    public func openReplyBasis(_ thread: InboxThread, clientKey: ClientKeyFingerprint?, clientAddress: ClientAddress,
                               lastInbound: (message: StoredMessageID, messageIDSealed: Data, subjectSealed: Data)?,
                               with dataKey: ThreadDataKey) throws(ThreadStoreError) -> ReplyBasis {
        var headers: ReplyBasis.InboundHeaders?
        if let lastInbound {
            func open(_ box: Data, _ column: String) throws(ThreadStoreError) -> String {
                try Sealing.openString(box, key: dataKey.key, context: MessageRecord.context(
                    column, thread: dataKey.thread, message: lastInbound.message))
            }
            headers = ReplyBasis.InboundHeaders(
                messageID: try open(lastInbound.messageIDSealed, "header_message_id_sealed"),
                subject: try open(lastInbound.subjectSealed, "subject_sealed"))
        }
        return ReplyBasis(summary: thread.summary, clientKey: clientKey, clientAddress: clientAddress,
                          lastInbound: headers)
    }

    /// A held reply opened: its Message-ID and stored inner part.
    /// - Throws: ``ThreadStoreError/databaseCorrupt`` for an unknown problem code.
    public func openHeldReply(_ message: StoredMessageID, messageIDSealed: Data, bodySealed: Data, heldAt: Int64,
                              problemCode: Int, with dataKey: ThreadDataKey) throws(ThreadStoreError) -> HeldReply {
        try HeldReply.open(message, messageIDSealed: messageIDSealed, bodySealed: bodySealed, heldAt: heldAt,
                           problemCode: problemCode, key: dataKey.key, thread: dataKey.thread)
    }
}

extension HeldReply {
    /// A held reply opened (both engines).
    static func open(_ message: StoredMessageID, messageIDSealed: Data, bodySealed: Data, heldAt: Int64,
                     problemCode: Int, key: SymmetricKey, thread: ThreadID) throws(ThreadStoreError) -> HeldReply {
        guard let problem = HeldReplyProblem(rawValue: problemCode) else { throw .databaseCorrupt }
        func context(_ column: String) -> SealContext {
            MessageRecord.context(column, thread: thread, message: message)
        }
        return HeldReply(
            message: message,
            messageID: try Sealing.openString(messageIDSealed, key: key, context: context("header_message_id_sealed")),
            body: Array(try Sealing.open(bodySealed, key: key, context: context("body_sealed"))),
            heldAt: Date(storeMilliseconds: heldAt), problem: problem)
    }
}
