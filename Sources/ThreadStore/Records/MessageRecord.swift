import Crypto
import Foundation
import GRDB
import MailValues

/// One `message` row, as stored (sealed columns still sealed).
struct MessageRecord {
    var id: StoredMessageID
    var threadID: ThreadID
    var direction: MessageDirection
    var messageIDHMAC: Data
    var contentHMAC: Data
    var verdict: SignatureVerdictCode
    var receivedAt: Int64
    var isRead: Bool
    var bodySize: Int
    var attachmentCount: Int
    var headerMessageIDSealed: Data
    var subjectSealed: Data
    var bodySealed: Data
    /// The signer (``MessageSigner``) sealed as JSON; nil where the signature was not good or for old rows (v10).
    var signerSealed: Data?

    static let columns = """
        id, thread_id, direction, message_id_hmac, content_hmac, verdict, received_at, is_read, body_size, \
        attachment_count, header_message_id_sealed, subject_sealed, body_sealed, signer_sealed
        """

    init(
        id: StoredMessageID,
        threadID: ThreadID,
        direction: MessageDirection,
        messageIDHMAC: Data,
        contentHMAC: Data,
        verdict: SignatureVerdictCode,
        receivedAt: Int64,
        isRead: Bool,
        bodySize: Int,
        attachmentCount: Int,
        headerMessageIDSealed: Data,
        subjectSealed: Data,
        bodySealed: Data,
        signerSealed: Data? = nil
    ) {
        self.id = id
        self.threadID = threadID
        self.direction = direction
        self.messageIDHMAC = messageIDHMAC
        self.contentHMAC = contentHMAC
        self.verdict = verdict
        self.receivedAt = receivedAt
        self.isRead = isRead
        self.bodySize = bodySize
        self.attachmentCount = attachmentCount
        self.headerMessageIDSealed = headerMessageIDSealed
        self.subjectSealed = subjectSealed
        self.bodySealed = bodySealed
        self.signerSealed = signerSealed
    }

    init(row: Row) throws(ThreadStoreError) {
        guard let id = try? StoredMessageID(row["id"] as String),
            let threadID = try? ThreadID(row["thread_id"] as String),
            let direction = MessageDirection(rawValue: row["direction"]),
            let verdict = SignatureVerdictCode(rawValue: row["verdict"])
        else { throw .databaseCorrupt }
        self.id = id
        self.threadID = threadID
        self.direction = direction
        messageIDHMAC = row["message_id_hmac"]
        contentHMAC = row["content_hmac"]
        self.verdict = verdict
        receivedAt = row["received_at"]
        isRead = row["is_read"]
        bodySize = row["body_size"]
        attachmentCount = row["attachment_count"]
        headerMessageIDSealed = row["header_message_id_sealed"]
        subjectSealed = row["subject_sealed"]
        bodySealed = row["body_sealed"]
        signerSealed = row["signer_sealed"]
    }

    func insert(_ db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT INTO message (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ).execute(
            arguments: [
                id.unredactedDescription, threadID.unredactedDescription, direction.rawValue, messageIDHMAC,
                contentHMAC, verdict.rawValue, receivedAt, isRead, bodySize, attachmentCount, headerMessageIDSealed,
                subjectSealed, bodySealed, signerSealed,
            ]
        )
    }

    /// The fingerprint is kept as upper-case hex (``KeyFingerprint/hex``), as it always was. `subjectSigned` is
    /// absent in rows stored before it was recorded.
    private struct SignerJSON: Codable {
        var fingerprint: String
        var userID: String
        var subjectSigned: Bool?
    }

    /// The plain form of ``signerSealed`` before sealing.
    static func encode(_ signer: MessageSigner) throws(ThreadStoreError) -> Data {
        do {
            return try JSONEncoder().encode(SignerJSON(fingerprint: signer.fingerprint.hex, userID: signer.userID,
                                                       subjectSigned: signer.subjectSigned))
        } catch { throw .invalidValue }
    }

    /// Opens ``signerSealed`` with the thread's data key.
    func openSigner(key: SymmetricKey) throws(ThreadStoreError) -> MessageSigner? {
        guard let signerSealed else { return nil }
        return try Self.openSigner(signerSealed, key: key, thread: threadID, message: id)
    }

    /// Opens a sealed `signer_sealed` value of `message` in `thread`.
    static func openSigner(_ signerSealed: Data, key: SymmetricKey, thread: ThreadID, message: StoredMessageID)
        throws(ThreadStoreError) -> MessageSigner
    {
        let plain = try Sealing.open(signerSealed, key: key,
                                     context: context("signer_sealed", thread: thread, message: message))
        guard let json = try? JSONDecoder().decode(SignerJSON.self, from: Data(plain)),
            let fingerprint = try? KeyFingerprint(json.fingerprint)
        else { throw .databaseCorrupt }
        return MessageSigner(fingerprint: fingerprint, userID: json.userID, subjectSigned: json.subjectSigned)
    }

    /// The seal context of a message column: bound to thread and message.
    static func context(_ column: String, thread: ThreadID, message: StoredMessageID, position: Int = 0) -> SealContext
    {
        SealContext(
            table: "message",
            column: column,
            threadID: thread.unredactedDescription,
            rowID: message.unredactedDescription,
            position: position
        )
    }
}

/// One `attachment` row.
struct AttachmentRecord {
    var messageID: StoredMessageID
    var position: Int
    var size: Int
    var nameSealed: Data
    var mediaTypeSealed: Data
    var contentSealed: Data

    func insert(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO attachment (message_id, position, size, name_sealed, media_type_sealed, content_sealed)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [messageID.unredactedDescription, position, size, nameSealed, mediaTypeSealed, contentSealed]
        )
    }

    static func context(_ column: String, thread: ThreadID, message: StoredMessageID, position: Int) -> SealContext {
        SealContext(
            table: "attachment",
            column: column,
            threadID: thread.unredactedDescription,
            rowID: message.unredactedDescription,
            position: position
        )
    }
}
