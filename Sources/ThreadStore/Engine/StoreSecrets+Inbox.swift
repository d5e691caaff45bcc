// Security: opening what the counsellor inbox shows, for a store engine that is not SQLite (issue 21). The seal
// contexts are MessageRecord's and AttachmentRecord's, so a value moved to another row, message or thread does not
// open. Attachment content is opened only by ``StoreSecrets/openAttachment(_:message:with:)``, one at a time; a
// page shows names and media types. Nothing here is logged; descriptions show IDs and counts only.

import Crypto
public import Foundation

/// A message row of an inbox page as an engine read it, still sealed.
public struct SealedInboxMessage: Sendable {
    public var id: StoredMessageID
    public var direction: MessageDirection
    public var verdict: SignatureVerdictCode
    /// Store milliseconds.
    public var receivedAt: Int64
    public var isRead: Bool
    public var subjectSealed: Data
    public var bodySealed: Data
    public var signerSealed: Data?

    public init(id: StoredMessageID, direction: MessageDirection, verdict: SignatureVerdictCode, receivedAt: Int64,
                isRead: Bool, subjectSealed: Data, bodySealed: Data, signerSealed: Data?) {
        self.id = id
        self.direction = direction
        self.verdict = verdict
        self.receivedAt = receivedAt
        self.isRead = isRead
        self.subjectSealed = subjectSealed
        self.bodySealed = bodySealed
        self.signerSealed = signerSealed
    }
}

/// An attachment's metadata columns (`position`, `size`, `name_sealed`, `media_type_sealed`), still sealed.
public struct SealedAttachmentInfo: Sendable {
    public var position: Int
    public var size: Int
    public var nameSealed: Data
    public var mediaTypeSealed: Data

    public init(position: Int, size: Int, nameSealed: Data, mediaTypeSealed: Data) {
        self.position = position
        self.size = size
        self.nameSealed = nameSealed
        self.mediaTypeSealed = mediaTypeSealed
    }
}

extension StoreSecrets {
    /// One message of an inbox page, opened: subject, body and signer, the attachments' names and media types
    /// (not their content), as ``ReadTransaction/openInboxThread(_:page:)`` shows it.
    public func openInboxMessage(_ sealed: SealedInboxMessage, attachments: [SealedAttachmentInfo],
                                 delivery: ReplyDelivery?, with dataKey: ThreadDataKey) throws(ThreadStoreError)
        -> InboxMessage
    {
        let (key, thread) = (dataKey.key, dataKey.thread)
        return try InboxMessage.open(
            sealed, key: key, thread: thread, delivery: delivery,
            attachments: try attachments.map { info throws(ThreadStoreError) in
                try AttachmentRecord.openInfo(info, key: key, thread: thread, message: sealed.id)
            })
    }

    /// One attachment opened whole (name, media type, content), checked against its message and position.
    public func openAttachment(_ sealed: SealedAttachment, message: StoredMessageID, with dataKey: ThreadDataKey)
        throws(ThreadStoreError) -> StoredAttachment
    {
        try AttachmentRecord.openWhole(sealed, key: dataKey.key, thread: dataKey.thread, message: message)
    }

    /// A message's body (its raw MIME entity) opened.
    public func openMessageBody(_ sealed: Data, message: StoredMessageID, with dataKey: ThreadDataKey)
        throws(ThreadStoreError) -> [UInt8]
    {
        Array(try Sealing.open(sealed, key: dataKey.key, context: MessageRecord.context(
            "body_sealed", thread: dataKey.thread, message: message)))
    }
}

extension InboxMessage {
    /// A message of an inbox page opened (both engines).
    static func open(_ sealed: SealedInboxMessage, key: SymmetricKey, thread: ThreadID, delivery: ReplyDelivery?,
                     attachments: [AttachmentInfo]) throws(ThreadStoreError) -> InboxMessage {
        func context(_ column: String) -> SealContext {
            MessageRecord.context(column, thread: thread, message: sealed.id)
        }
        var signer: MessageSigner?
        if let signerSealed = sealed.signerSealed {
            signer = try MessageRecord.openSigner(signerSealed, key: key, thread: thread, message: sealed.id)
        }
        return InboxMessage(
            id: sealed.id, direction: sealed.direction,
            subject: try Sealing.openString(sealed.subjectSealed, key: key, context: context("subject_sealed")),
            body: Array(try Sealing.open(sealed.bodySealed, key: key, context: context("body_sealed"))),
            attachments: attachments, verdict: sealed.verdict, signer: signer,
            receivedAt: Date(storeMilliseconds: sealed.receivedAt), wasRead: sealed.isRead, delivery: delivery)
    }
}

extension AttachmentRecord {
    /// An attachment opened whole: name, media type and content (both engines).
    static func openWhole(_ sealed: SealedAttachment, key: SymmetricKey, thread: ThreadID,
                          message: StoredMessageID) throws(ThreadStoreError) -> StoredAttachment {
        func open(_ box: Data, _ column: String) throws(ThreadStoreError) -> Data {
            try Sealing.open(box, key: key, context: context(column, thread: thread, message: message,
                                                              position: sealed.position))
        }
        guard let name = String(data: try open(sealed.nameSealed, "name_sealed"), encoding: .utf8),
            let mediaType = String(data: try open(sealed.mediaTypeSealed, "media_type_sealed"), encoding: .utf8)
        else { throw .unsealingFailed }
        return StoredAttachment(name: name, mediaType: mediaType,
                                content: Array(try open(sealed.contentSealed, "content_sealed")))
    }

    /// An attachment's name and media type opened (both engines' inbox pages).
    static func openInfo(_ info: SealedAttachmentInfo, key: SymmetricKey, thread: ThreadID,
                         message: StoredMessageID) throws(ThreadStoreError) -> AttachmentInfo {
        func open(_ box: Data, _ column: String) throws(ThreadStoreError) -> String {
            try Sealing.openString(box, key: key, context: context(column, thread: thread, message: message,
                                                                    position: info.position))
        }
        return AttachmentInfo(position: info.position, name: try open(info.nameSealed, "name_sealed"),
                              mediaType: try open(info.mediaTypeSealed, "media_type_sealed"), size: info.size)
    }
}
