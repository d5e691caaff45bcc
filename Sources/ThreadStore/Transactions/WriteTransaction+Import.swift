import Crypto
import Foundation
import GRDB

extension WriteTransaction {
    /// Stores a decrypted message, idempotently.
    ///
    /// - The same message (same Message-ID and content) already in the thread gives ``ImportOutcome/duplicate(_:_:)``.
    /// - An encrypted payload whose meaning was imported before (``NewMessage/replayFingerprints``, any thread) gives
    ///   ``ImportOutcome/replayedCiphertext``.
    /// - Otherwise the message is sealed with the thread's data key and stored; a new thread (with a fresh data key)
    ///   is created for ``ImportDestination/client(_:)`` when the client has none. An inbound message reopens a
    ///   closed thread and counts as activity for retention.
    ///
    /// Queue any reply in the same transaction (``enqueueOutbox(_:)``) so both commit together.
    public func importMessage(_ message: NewMessage, into destination: ImportDestination) throws -> ImportOutcome {
        try validate(message)
        let keys = context.keys
        let messageIDHMAC = keys.indexHMAC("message-id", Data(message.messageID.utf8))
        let contentHMAC = Self.contentHMAC(message, keys: keys)

        var existing: ThreadID?
        switch destination {
        case .thread(let id):
            try requireThread(id)
            existing = id
        case .client(let identity):
            existing = try findThread(client: identity)
        case .awaitingKey(let client):
            existing = try Queries.findAwaitingKeyThread(db, context: context, client: client)
        }

        if let thread = existing,
            let duplicate = try String.fetchOne(
                db.cachedStatement(
                    sql: "SELECT id FROM message WHERE thread_id = ? AND message_id_hmac = ? AND content_hmac = ?"
                ),
                arguments: [thread.raw.text, messageIDHMAC, contentHMAC]
            )
        {
            let id = try StoredMessageID(duplicate)
            try AuditLog.append(db, at: now, event: .duplicateIgnored, thread: thread, itemID: duplicate)
            return .duplicate(thread, id)
        }

        // Replay: what this payload decrypts to (its session key, or one of its signatures with what it signs) was
        // imported before, in any thread of any mailbox. Checked before anything is written, then remembered. A
        // provisional entry (a copy that reached its signer's thread from another address) lets exactly one
        // non-provisional copy through, which then makes it final.
        if !message.replayFingerprints.isEmpty {
            for fingerprint in message.replayFingerprints {
                guard let provisional = try Queries.replayProvisional(db, fingerprint) else { continue }
                if provisional && !message.replayFingerprintsAreProvisional { continue }
                try AuditLog.append(db, at: now, event: .replayRejected, thread: existing)
                return .replayedCiphertext
            }
            for fingerprint in Set(message.replayFingerprints) {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO seen_ciphertext (hash, first_seen_at, provisional) VALUES (?, ?, ?)
                        ON CONFLICT (hash) DO UPDATE SET provisional = min(provisional, excluded.provisional)
                        """
                ).execute(arguments: [fingerprint.bytes, message.receivedAt.storeMilliseconds,
                                      message.replayFingerprintsAreProvisional ? 1 : 0])
            }
        }

        let thread: ThreadID
        let dataKey: SymmetricKey
        let created: Bool
        if let existing {
            thread = existing
            dataKey = try Queries.dataKey(db, context: context, thread: existing)
            created = false
        } else {
            switch destination {
            case .thread: throw ThreadStoreError.threadNotFound
            case .client(let identity): (thread, dataKey) = try createThread(for: identity, at: message.receivedAt)
            case .awaitingKey(let client):
                (thread, dataKey) = try createAwaitingKeyThread(for: client, at: message.receivedAt)
            }
            created = true
        }

        let id = StoredMessageID.random()
        func seal(_ bytes: some DataProtocol, _ column: String) throws(ThreadStoreError) -> Data {
            try Sealing.seal(bytes, key: dataKey, context: MessageRecord.context(column, thread: thread, message: id))
        }
        let record = MessageRecord(
            id: id,
            threadID: thread,
            direction: message.direction,
            messageIDHMAC: messageIDHMAC,
            contentHMAC: contentHMAC,
            verdict: message.verdict,
            receivedAt: message.receivedAt.storeMilliseconds,
            isRead: message.direction == .outbound,
            bodySize: message.body.count,
            attachmentCount: message.attachments.count,
            headerMessageIDSealed: try seal(Data(message.messageID.utf8), "header_message_id_sealed"),
            subjectSealed: try seal(Data(message.subject.utf8), "subject_sealed"),
            bodySealed: try seal(message.body, "body_sealed"),
            signerSealed: try message.signer.map { try seal(MessageRecord.encode($0), "signer_sealed") }
        )
        try record.insert(db)

        for (position, attachment) in message.attachments.enumerated() {
            func sealAttachment(_ bytes: some DataProtocol, _ column: String) throws(ThreadStoreError) -> Data {
                try Sealing.seal(
                    bytes,
                    key: dataKey,
                    context: AttachmentRecord.context(column, thread: thread, message: id, position: position)
                )
            }
            try AttachmentRecord(
                messageID: id,
                position: position,
                size: attachment.content.count,
                nameSealed: try sealAttachment(Data(attachment.name.utf8), "name_sealed"),
                mediaTypeSealed: try sealAttachment(Data(attachment.mediaType.utf8), "media_type_sealed"),
                contentSealed: try sealAttachment(attachment.content, "content_sealed")
            ).insert(db)
        }

        let reopen = message.direction == .inbound ? ThreadState.open.rawValue : nil
        try db.cachedStatement(
            sql: """
                UPDATE thread SET last_activity_at = max(last_activity_at, ?), state = coalesce(?, state)
                WHERE id = ?
                """
        ).execute(
            arguments: [message.receivedAt.storeMilliseconds, reopen, thread.raw.text]
        )
        try AuditLog.append(db, at: now, event: .messageStored, thread: thread, itemID: id.unredactedDescription)
        return .stored(thread, id, createdThread: created)
    }

    private func createThread(for identity: ClientIdentity, at time: Date) throws -> (ThreadID, SymmetricKey) {
        let thread = ThreadID.random()
        let dataKey = Sealing.newDataKey()
        let record = ThreadRecord(
            id: thread,
            field: identity.field,
            clientKeyHMAC: Queries.clientKeyHMAC(identity.key, context: context),
            clientKeySealed: try Sealing.sealString(
                identity.key.hex,
                key: dataKey,
                context: ThreadRecord.context("client_key_sealed", thread: thread)
            ),
            clientAddressSealed: try Sealing.sealString(
                identity.address.unredactedDescription,
                key: dataKey,
                context: ThreadRecord.context("client_address_sealed", thread: thread)
            ),
            state: .open,
            createdAt: time.storeMilliseconds,
            lastActivityAt: time.storeMilliseconds
        )
        try record.insert(db)
        try db.cachedStatement(sql: "UPDATE thread SET client_address_hmac = ? WHERE id = ?").execute(
            arguments: [Queries.clientAddressHMAC(identity.address, context: context), thread.raw.text])
        try db.cachedStatement(sql: "INSERT INTO thread_key (thread_id, wrapped_key) VALUES (?, ?)").execute(
            arguments: [thread.raw.text, try Sealing.wrap(dataKey, for: thread, keys: context.keys)]
        )
        try AuditLog.append(db, at: now, event: .threadCreated, thread: thread)
        return (thread, dataKey)
    }

    /// Keyed HMAC over subject, body and attachments, length-prefixed so parts cannot shift into each other.
    private static func contentHMAC(_ message: NewMessage, keys: DerivedKeys) -> Data {
        var hmac = HMAC<SHA256>(key: keys.index)
        func add(_ bytes: some DataProtocol) {
            var length = UInt64(bytes.count).bigEndian
            withUnsafeBytes(of: &length) { hmac.update(data: Data($0)) }
            hmac.update(data: bytes)
        }
        add(Data("content".utf8))
        add(Data(message.subject.utf8))
        add(message.body)
        for attachment in message.attachments {
            add(Data(attachment.name.utf8))
            add(Data(attachment.mediaType.utf8))
            add(attachment.content)
        }
        return Data(hmac.finalize())
    }

    private func validate(_ message: NewMessage) throws(ThreadStoreError) {
        let limits = context.configuration
        guard message.body.count <= limits.maximumBodyBytes, message.subject.utf8.count <= limits.maximumSubjectBytes,
            message.messageID.utf8.count <= limits.maximumMessageIDBytes,
            message.attachments.count <= limits.maximumAttachments,
            message.attachments.allSatisfy({
                $0.content.count <= limits.maximumAttachmentBytes
                    && $0.name.utf8.count <= limits.maximumAttachmentNameBytes
                    && $0.mediaType.utf8.count <= limits.maximumMediaTypeBytes
            })
        else { throw .limitExceeded }
        guard !message.messageID.isEmpty else { throw .invalidValue }
    }
}
