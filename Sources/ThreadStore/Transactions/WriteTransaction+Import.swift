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
        let secrets = StoreSecrets(keys: context.keys)
        let index = try secrets.importIndex(message, limits: context.configuration)

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
                arguments: [thread.raw.text, index.messageIDHMAC, index.contentHMAC]
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
                guard let provisional = try Queries.replayProvisional(db, fingerprint),
                    StoreSecrets.rejectsReplay(seenProvisional: provisional,
                                               incomingProvisional: message.replayFingerprintsAreProvisional)
                else { continue }
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

        let dataKey: ThreadDataKey
        let created: Bool
        if let existing {
            dataKey = ThreadDataKey(thread: existing, key: try Queries.dataKey(db, context: context, thread: existing))
            created = false
        } else {
            switch destination {
            case .thread: throw ThreadStoreError.threadNotFound
            case .client(let identity): dataKey = try createThread(try secrets.sealNewThread(for: identity),
                                                                   at: message.receivedAt)
            case .awaitingKey(let client): dataKey = try createThread(try secrets.sealNewThread(awaiting: client),
                                                                      at: message.receivedAt)
            }
            created = true
        }
        let thread = dataKey.thread

        // A large body or attachment is left out (empty) and sealed and written in pieces below (LargeSealedValue),
        // not bound whole.
        let sealed = try secrets.sealMessage(message, index: index, with: dataKey, leavingOutLargeValues: true)
        let id = sealed.id
        try MessageRecord(
            id: id, threadID: thread, direction: sealed.direction, messageIDHMAC: sealed.messageIDHMAC,
            contentHMAC: sealed.contentHMAC, verdict: sealed.verdict, receivedAt: sealed.receivedAt,
            isRead: sealed.isRead, bodySize: sealed.bodySize, attachmentCount: sealed.attachmentCount,
            headerMessageIDSealed: sealed.headerMessageIDSealed, subjectSealed: sealed.subjectSealed,
            bodySealed: sealed.bodySealed, signerSealed: sealed.signerSealed
        ).insert(db)
        if message.body.count >= LargeSealedValue.threshold {
            try writeLargeSealedValue(message.body, key: dataKey.key,
                                      context: MessageRecord.context("body_sealed", thread: thread, message: id),
                                      table: "message", column: "body_sealed", rowID: db.lastInsertedRowID)
        }
        for (attachment, content) in zip(sealed.attachments, message.attachments.map(\.content)) {
            try AttachmentRecord(
                messageID: id, position: attachment.position, size: attachment.size,
                nameSealed: attachment.nameSealed, mediaTypeSealed: attachment.mediaTypeSealed,
                contentSealed: attachment.contentSealed
            ).insert(db)
            if content.count >= LargeSealedValue.threshold {
                try writeLargeSealedValue(
                    content, key: dataKey.key,
                    context: AttachmentRecord.context("content_sealed", thread: thread, message: id,
                                                      position: attachment.position),
                    table: "attachment", column: "content_sealed", rowID: db.lastInsertedRowID)
            }
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

    /// Inserts a new thread (with or without key) and its wrapped data key; audits ``AuditEvent/threadCreated``.
    private func createThread(_ sealed: SealedThread, at time: Date) throws -> ThreadDataKey {
        let thread = sealed.id
        let record = ThreadRecord(
            id: thread,
            field: sealed.lookup.field,
            clientKeyHMAC: sealed.lookup.clientKeyHMAC,
            clientKeySealed: sealed.clientKeySealed,
            clientAddressSealed: sealed.clientAddressSealed,
            state: .open,
            createdAt: time.storeMilliseconds,
            lastActivityAt: time.storeMilliseconds
        )
        try record.insert(db)
        if let addressHMAC = sealed.lookup.clientAddressHMAC {
            try db.cachedStatement(sql: "UPDATE thread SET client_address_hmac = ? WHERE id = ?").execute(
                arguments: [addressHMAC, thread.raw.text])
        }
        if sealed.lookup.awaitingKey {
            try db.cachedStatement(sql: "UPDATE thread SET awaiting_key = 1 WHERE id = ?").execute(
                arguments: [thread.raw.text])
        }
        try db.cachedStatement(sql: "INSERT INTO thread_key (thread_id, wrapped_key) VALUES (?, ?)").execute(
            arguments: [thread.raw.text, sealed.wrappedKey]
        )
        try AuditLog.append(db, at: now, event: .threadCreated, thread: thread)
        return sealed.dataKey
    }

    /// Keyed HMAC over subject, body and attachments, length-prefixed so parts cannot shift into each other.
    static func contentHMAC(_ message: NewMessage, keys: DerivedKeys) -> Data {
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

    static func validate(_ message: NewMessage, limits: ThreadStore.Configuration) throws(ThreadStoreError) {
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
