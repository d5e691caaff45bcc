// Security: sealing and keyed lookups of threads, messages and their outbox items for a store engine that is not
// SQLite (issue 21). Everything is ThreadStore's own code (Sealing, MessageRecord/ThreadRecord/OutboxRecord seal
// contexts, Queries' lookup HMACs, the import's validation and content HMAC), and the SQLite import seals through
// the same functions, so both engines store byte for byte the same kind of value. A data key leaves this module
// only inside ``ThreadDataKey``, which no other module can read.

import Crypto
public import Foundation

/// A thread's data key, opened with the master key. Only ``StoreSecrets`` can use it; `description` shows nothing.
public struct ThreadDataKey: Sendable, CustomStringConvertible {
    /// The thread the key belongs to.
    public let thread: ThreadID
    let key: SymmetricKey

    public var description: String { "ThreadDataKey(<redacted>)" }
}

/// The keyed columns an engine finds a client's thread by (`thread.field`, `client_key_hmac`,
/// `client_address_hmac`, `awaiting_key`), as ``WriteTransaction/findThread(client:)`` and the lookup of a thread
/// without key use them.
public struct ThreadLookup: Sendable {
    /// The counselling field.
    public let field: CounsellingField
    /// `client_key_hmac`: the client key's HMAC, or for a thread without key the HMAC of address and awaited signer.
    public let clientKeyHMAC: Data
    /// `client_address_hmac`; nil for a thread without key (found by field and ``clientKeyHMAC`` only).
    public let clientAddressHMAC: Data?
    /// Whether the thread awaits its key (issue 17).
    public let awaitingKey: Bool
}

/// A new `thread` row and its `thread_key` row, sealed, with the opened data key for the message that creates it.
public struct SealedThread: Sendable {
    /// The new thread's ID (random).
    public let id: ThreadID
    /// Its keyed lookup columns.
    public let lookup: ThreadLookup
    /// `client_key_sealed` (for a thread without key: the awaited signer, or empty).
    public let clientKeySealed: Data
    /// `client_address_sealed`.
    public let clientAddressSealed: Data
    /// `thread_key.wrapped_key`: the data key sealed under the master key's wrapping key, bound to the thread.
    public let wrappedKey: Data
    /// The data key.
    public let dataKey: ThreadDataKey
}

/// The keyed HMACs that make an import idempotent (`message.message_id_hmac`, `message.content_hmac`).
public struct ImportIndex: Sendable {
    /// Keyed HMAC of the Message-ID.
    public let messageIDHMAC: Data
    /// Keyed HMAC of subject, body and attachments, length-prefixed.
    public let contentHMAC: Data
}

/// One `message` row with its `attachment` rows, sealed with the thread's data key. Each property is the column of
/// the same name (`_sealed`: a box bound to thread, message and column; `_hmac`: keyed with the index key).
public struct SealedMessage: Sendable {
    public var id: StoredMessageID
    public var thread: ThreadID
    public var direction: MessageDirection
    public var messageIDHMAC: Data
    public var contentHMAC: Data
    public var verdict: SignatureVerdictCode
    /// Store milliseconds.
    public var receivedAt: Int64
    public var isRead: Bool
    public var bodySize: Int
    public var attachmentCount: Int
    public var headerMessageIDSealed: Data
    public var subjectSealed: Data
    public var bodySealed: Data
    public var signerSealed: Data?
    public var attachments: [SealedAttachment]

    /// A row as an engine read it (`attachments` in position order).
    public init(id: StoredMessageID, thread: ThreadID, direction: MessageDirection, messageIDHMAC: Data,
                contentHMAC: Data, verdict: SignatureVerdictCode, receivedAt: Int64, isRead: Bool, bodySize: Int,
                attachmentCount: Int, headerMessageIDSealed: Data, subjectSealed: Data, bodySealed: Data,
                signerSealed: Data?, attachments: [SealedAttachment]) {
        self.id = id
        self.thread = thread
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
        self.attachments = attachments
    }
}

/// One `attachment` row, sealed with the thread's data key and bound to message and position; each property is
/// the column of the same name.
public struct SealedAttachment: Sendable {
    public var position: Int
    public var size: Int
    public var nameSealed: Data
    public var mediaTypeSealed: Data
    public var contentSealed: Data

    /// A row as an engine read it.
    public init(position: Int, size: Int, nameSealed: Data, mediaTypeSealed: Data, contentSealed: Data) {
        self.position = position
        self.size = size
        self.nameSealed = nameSealed
        self.mediaTypeSealed = mediaTypeSealed
        self.contentSealed = contentSealed
    }
}

/// One new `outbox` row (state pending, no attempt yet), sealed as ``WriteTransaction/enqueueOutbox(_:)`` seals it;
/// each property is the column of the same name.
public struct SealedOutboxItem: Sendable {
    public let id: OutboxItemID
    public let thread: ThreadID?
    public let kind: OutboxKind
    /// Store milliseconds.
    public let nextAttemptAt: Int64
    /// Store milliseconds.
    public let createdAt: Int64
    /// The payload's size before sealing (as SQLite's `payload_size`).
    public let payloadSize: Int
    public let recipientSealed: Data
    public let payloadSealed: Data
}

extension StoreSecrets {
    /// Checks `message` against `limits` and returns its Message-ID and content HMACs.
    /// - Throws: ``ThreadStoreError/limitExceeded``; ``ThreadStoreError/invalidValue`` (empty Message-ID).
    public func importIndex(_ message: NewMessage, limits: ThreadStore.Configuration) throws(ThreadStoreError)
        -> ImportIndex
    {
        try WriteTransaction.validate(message, limits: limits)
        return ImportIndex(messageIDHMAC: keys.indexHMAC("message-id", Data(message.messageID.utf8)),
                           contentHMAC: WriteTransaction.contentHMAC(message, keys: keys))
    }

    /// The lookup columns of a client's thread with key.
    public func lookup(_ identity: ClientIdentity) -> ThreadLookup {
        let context = lookupContext
        return ThreadLookup(field: identity.field, clientKeyHMAC: Queries.clientKeyHMAC(identity.key, context: context),
                            clientAddressHMAC: Queries.clientAddressHMAC(identity.address, context: context),
                            awaitingKey: false)
    }

    /// The lookup columns of a client's thread without key.
    public func lookup(_ client: AwaitingKeyClient) -> ThreadLookup {
        ThreadLookup(field: client.field, clientKeyHMAC: Queries.awaitingKeyHMAC(client, context: lookupContext),
                     clientAddressHMAC: nil, awaitingKey: true)
    }

    /// The keyed fingerprint of a decrypted payload (as ``ThreadStore/replayFingerprint(_:_:)``).
    public func replayFingerprint(_ kind: ReplayFingerprint.Kind, _ material: some DataProtocol) -> ReplayFingerprint {
        ReplayFingerprint(bytes: keys.indexHMAC(kind.rawValue, material))
    }

    /// A fingerprint's stored bytes (`seen_ciphertext.hash`).
    public static func storedBytes(_ fingerprint: ReplayFingerprint) -> Data { fingerprint.bytes }

    /// The replay rule of ``WriteTransaction/importMessage(_:into:)``: a fingerprint seen before rejects the
    /// message, except that a provisional entry lets one non-provisional copy through (which makes it final).
    public static func rejectsReplay(seenProvisional: Bool, incomingProvisional: Bool) -> Bool {
        !(seenProvisional && !incomingProvisional)
    }

    /// A new thread with a fresh data key for a client with key.
    public func sealNewThread(for identity: ClientIdentity) throws(ThreadStoreError) -> SealedThread {
        try sealNewThread(lookup(identity), clientKey: identity.key.hex, address: identity.address)
    }

    /// A new thread without key (issue 17) with a fresh data key.
    public func sealNewThread(awaiting client: AwaitingKeyClient) throws(ThreadStoreError) -> SealedThread {
        try sealNewThread(lookup(client), clientKey: client.signer?.hex ?? "", address: client.address)
    }

    private func sealNewThread(_ lookup: ThreadLookup, clientKey: String, address: ClientAddress)
        throws(ThreadStoreError) -> SealedThread
    {
        let thread = ThreadID.random()
        let dataKey = Sealing.newDataKey()
        return SealedThread(
            id: thread, lookup: lookup,
            clientKeySealed: try Sealing.sealString(clientKey, key: dataKey,
                                                    context: ThreadRecord.context("client_key_sealed", thread: thread)),
            clientAddressSealed: try Sealing.sealString(
                address.unredactedDescription, key: dataKey,
                context: ThreadRecord.context("client_address_sealed", thread: thread)),
            wrappedKey: try Sealing.wrap(dataKey, for: thread, field: lookup.field, keys: keys),
            dataKey: ThreadDataKey(thread: thread, key: dataKey))
    }

    /// Opens a stored `thread_key.wrapped_key`.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when it was altered or belongs to another thread.
    public func openDataKey(_ wrapped: Data, thread: ThreadID) throws(ThreadStoreError) -> ThreadDataKey {
        ThreadDataKey(thread: thread, key: try Sealing.unwrap(wrapped, for: thread, keys: keys))
    }

    /// `message` sealed into a new row of the data key's thread (a new random message ID). A body or attachment
    /// of 1 MiB or more is sealed in pieces (format 2, ``SealedPieces``), as the SQLite import stores it; with
    /// `leavingOutLargeValues` it is left empty for the caller to seal and write piece by piece (SQLite's blob I/O).
    public func sealMessage(_ message: NewMessage, index: ImportIndex, with dataKey: ThreadDataKey,
                            leavingOutLargeValues: Bool = false) throws(ThreadStoreError) -> SealedMessage
    {
        let thread = dataKey.thread
        let key = dataKey.key
        let id = StoredMessageID.random()
        func seal(_ bytes: some DataProtocol, _ column: String) throws(ThreadStoreError) -> Data {
            try Sealing.seal(bytes, key: key, context: MessageRecord.context(column, thread: thread, message: id))
        }
        func sealContent(_ bytes: [UInt8], _ context: SealContext) throws(ThreadStoreError) -> Data {
            guard bytes.count >= LargeSealedValue.threshold else {
                return try Sealing.seal(bytes, key: key, context: context)
            }
            if leavingOutLargeValues { return Data() }
            return try Self.sealInPieces(bytes, key: key, context: context)
        }
        var attachments: [SealedAttachment] = []
        for (position, attachment) in message.attachments.enumerated() {
            func sealAttachment(_ bytes: some DataProtocol, _ column: String) throws(ThreadStoreError) -> Data {
                try Sealing.seal(bytes, key: key, context: AttachmentRecord.context(
                    column, thread: thread, message: id, position: position))
            }
            attachments.append(SealedAttachment(
                position: position, size: attachment.content.count,
                nameSealed: try sealAttachment(Data(attachment.name.utf8), "name_sealed"),
                mediaTypeSealed: try sealAttachment(Data(attachment.mediaType.utf8), "media_type_sealed"),
                contentSealed: try sealContent(attachment.content, AttachmentRecord.context(
                    "content_sealed", thread: thread, message: id, position: position))))
        }
        var signerSealed: Data?
        if let signer = message.signer { signerSealed = try seal(MessageRecord.encode(signer), "signer_sealed") }
        return SealedMessage(
            id: id, thread: thread, direction: message.direction, messageIDHMAC: index.messageIDHMAC,
            contentHMAC: index.contentHMAC, verdict: message.verdict,
            receivedAt: message.receivedAt.storeMilliseconds, isRead: message.direction == .outbound,
            bodySize: message.body.count, attachmentCount: message.attachments.count,
            headerMessageIDSealed: try seal(Data(message.messageID.utf8), "header_message_id_sealed"),
            subjectSealed: try seal(Data(message.subject.utf8), "subject_sealed"),
            bodySealed: try sealContent(message.body,
                                        MessageRecord.context("body_sealed", thread: thread, message: id)),
            signerSealed: signerSealed,
            attachments: attachments)
    }

    /// A large value sealed in pieces (format 2) into one value, for an engine that binds it whole.
    private static func sealInPieces(_ bytes: [UInt8], key: SymmetricKey, context: SealContext)
        throws(ThreadStoreError) -> Data
    {
        var sealed = Data(capacity: SealedPieces.sealedLength(plaintextCount: bytes.count))
        do {
            try SealedPieces.seal(bytes, key: key, context: context) { part, _ in sealed.append(part) }
        } catch let error as ThreadStoreError {
            throw error
        } catch {
            throw .sealingFailed
        }
        return sealed
    }

    /// Opens a stored message row of the data key's thread (either sealed format).
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when a value was altered or moved to another row.
    public func openMessage(_ sealed: SealedMessage, with dataKey: ThreadDataKey) throws(ThreadStoreError)
        -> StoredMessage
    {
        let key = dataKey.key
        let thread = dataKey.thread
        func open(_ box: Data, _ column: String) throws(ThreadStoreError) -> Data {
            try Sealing.open(box, key: key, context: MessageRecord.context(column, thread: thread, message: sealed.id))
        }
        var attachments: [StoredAttachment] = []
        for attachment in sealed.attachments {
            func openAttachment(_ box: Data, _ column: String) throws(ThreadStoreError) -> Data {
                try Sealing.open(box, key: key, context: AttachmentRecord.context(
                    column, thread: thread, message: sealed.id, position: attachment.position))
            }
            guard let name = String(data: try openAttachment(attachment.nameSealed, "name_sealed"), encoding: .utf8),
                let mediaType = String(data: try openAttachment(attachment.mediaTypeSealed, "media_type_sealed"),
                                       encoding: .utf8)
            else { throw .unsealingFailed }
            attachments.append(StoredAttachment(
                name: name, mediaType: mediaType,
                content: Array(try openAttachment(attachment.contentSealed, "content_sealed"))))
        }
        guard let messageID = String(data: try open(sealed.headerMessageIDSealed, "header_message_id_sealed"),
                                     encoding: .utf8),
            let subject = String(data: try open(sealed.subjectSealed, "subject_sealed"), encoding: .utf8)
        else { throw .unsealingFailed }
        let record = MessageRecord(
            id: sealed.id, threadID: thread, direction: sealed.direction, messageIDHMAC: sealed.messageIDHMAC,
            contentHMAC: sealed.contentHMAC, verdict: sealed.verdict, receivedAt: sealed.receivedAt,
            isRead: sealed.isRead, bodySize: sealed.bodySize, attachmentCount: sealed.attachmentCount,
            headerMessageIDSealed: sealed.headerMessageIDSealed, subjectSealed: sealed.subjectSealed,
            bodySealed: sealed.bodySealed, signerSealed: sealed.signerSealed)
        return StoredMessage(
            id: sealed.id, direction: sealed.direction, messageID: messageID, subject: subject,
            body: Array(try open(sealed.bodySealed, "body_sealed")), attachments: attachments,
            verdict: sealed.verdict, signer: try record.openSigner(key: key),
            receivedAt: Date(storeMilliseconds: sealed.receivedAt), isRead: sealed.isRead)
    }

    /// Opens a thread row's client: its key (nil for a thread without key) and address.
    public func openClient(clientKeySealed: Data, clientAddressSealed: Data, awaitingKey: Bool,
                           with dataKey: ThreadDataKey) throws -> (ClientKeyFingerprint?, ClientAddress) {
        let key = try Sealing.openString(clientKeySealed, key: dataKey.key,
                                         context: ThreadRecord.context("client_key_sealed", thread: dataKey.thread))
        let address = try Sealing.openString(
            clientAddressSealed, key: dataKey.key,
            context: ThreadRecord.context("client_address_sealed", thread: dataKey.thread))
        return (awaitingKey ? nil : try ClientKeyFingerprint(key), try ClientAddress(address))
    }

    /// `item` sealed into a new outbox row at `now`: with the thread's data key when it belongs to a thread
    /// (`dataKey` must be that thread's), else with the outbox key derived from the master key.
    /// - Throws: ``ThreadStoreError/limitExceeded`` (payload over the limit); ``ThreadStoreError/invalidValue``
    ///   (the data key is not the item's thread's).
    public func sealOutboxItem(_ item: NewOutboxItem, with dataKey: ThreadDataKey?, now: Date,
                               limits: ThreadStore.Configuration) throws(ThreadStoreError) -> SealedOutboxItem {
        guard item.payload.count <= limits.maximumOutboxPayloadBytes else { throw .limitExceeded }
        guard item.thread == dataKey?.thread else { throw .invalidValue }
        let key = dataKey?.key ?? keys.outbox
        let id = OutboxItemID.random()
        return SealedOutboxItem(
            id: id, thread: item.thread, kind: item.kind, nextAttemptAt: item.notBefore.storeMilliseconds,
            createdAt: now.storeMilliseconds, payloadSize: item.payload.count,
            recipientSealed: try Sealing.sealString(
                item.recipient.unredactedDescription, key: key,
                context: OutboxRecord.context("recipient_sealed", thread: item.thread, item: id)),
            payloadSealed: try Sealing.seal(
                item.payload, key: key, context: OutboxRecord.context("payload_sealed", thread: item.thread, item: id)))
    }

    /// A transaction context for the lookup HMACs of Queries (keys only; no database, no limits read).
    private var lookupContext: TransactionContext {
        TransactionContext(keys: keys, configuration: ThreadStore.Configuration(), auditChannel: nil)
    }
}
