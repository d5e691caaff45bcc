// Security: the import's statements on PostgreSQL. Every value bound is sealed (StoreSecrets), a keyed HMAC, an
// opaque ID, a code, a size or a time; the message's words and the client's address reach PostgreSQL only sealed.

import Foundation
import Logging
import PostgresNIO
import ThreadStore

/// One import, as the body of a ``PostgresDatabase/write(_:)`` transaction: the steps of
/// ``WriteTransaction/importMessage(_:into:)`` in the same order, then the outbox items. Safe to run again after a
/// serialization failure: it acts only through its connection, and sealing starts afresh (new random IDs).
struct PostgresImport: Sendable {
    let secrets: StoreSecrets
    let configuration: ThreadStore.Configuration
    let message: NewMessage
    let index: ImportIndex
    let destination: ImportDestination
    let outbox: [NewOutboxItem]
    let logger: Logger

    func run(on connection: PostgresConnection) async throws -> ImportOutcome {
        let rows = PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock())
        var existing: ThreadID?
        switch destination {
        case .thread(let id):
            guard try await rows.threadExists(id) else { throw ThreadStoreError.threadNotFound }
            existing = id
        case .client(let identity):
            existing = try await rows.findThread(secrets.lookup(identity))
        case .awaitingKey(let client):
            existing = try await rows.findThread(secrets.lookup(client))
        }

        if let thread = existing, let duplicate = try await rows.duplicate(in: thread, index) {
            try await rows.audit(.duplicateIgnored, thread: thread, itemID: duplicate.unredactedDescription)
            return .duplicate(thread, duplicate)
        }

        // Replay (see importMessage on SQLite): checked before anything is written, then remembered.
        if !message.replayFingerprints.isEmpty {
            for fingerprint in message.replayFingerprints {
                guard let provisional = try await rows.replayProvisional(fingerprint),
                    StoreSecrets.rejectsReplay(seenProvisional: provisional,
                                               incomingProvisional: message.replayFingerprintsAreProvisional)
                else { continue }
                try await rows.audit(.replayRejected, thread: existing)
                return .replayedCiphertext
            }
            for fingerprint in Set(message.replayFingerprints) {
                try await rows.rememberReplay(fingerprint, at: message.receivedAt,
                                              provisional: message.replayFingerprintsAreProvisional)
            }
        }

        let dataKey: ThreadDataKey
        let created: Bool
        if let existing {
            dataKey = try await rows.dataKey(existing, secrets: secrets)
            created = false
        } else {
            let sealed: SealedThread
            switch destination {
            case .thread: throw ThreadStoreError.threadNotFound
            case .client(let identity): sealed = try secrets.sealNewThread(for: identity)
            case .awaitingKey(let client): sealed = try secrets.sealNewThread(awaiting: client)
            }
            try await rows.insertThread(sealed, at: message.receivedAt)
            dataKey = sealed.dataKey
            created = true
        }
        let thread = dataKey.thread

        let sealed = try secrets.sealMessage(message, index: index, with: dataKey)
        try await rows.insertMessage(sealed)
        try await rows.touchThread(thread, at: message.receivedAt, reopen: message.direction == .inbound)
        try await rows.audit(.messageStored, thread: thread, itemID: sealed.id.unredactedDescription)

        for var item in outbox {
            item.thread = thread
            let row = try secrets.sealOutboxItem(item, with: dataKey, now: rows.now, limits: configuration)
            try await rows.insertOutboxItem(row)
        }
        return .stored(thread, sealed.id, createdThread: created)
    }
}
