// Security: the statements of the pipeline's inbound steps on PostgreSQL, as ThreadStore's SQLite transactions
// write them. Values arrive sealed or keyed (StoreSecrets): keyed HMACs of keys, addresses and Message-IDs, sealed
// client keys, outbox rows and rejected messages, opaque IDs, codes and times. Nothing is logged.

import Foundation
import Logging
import NIOCore
import PostgresNIO
import ThreadStore

extension PostgresThreadRows {
    // MARK: Keys and standing

    /// ``WriteTransaction/giveAwaitedKey(_:)``: the newest open thread without key that awaits `identity.key`
    /// (under any of its names) from `identity.address` becomes an ordinary thread of that key; audits
    /// `threadKeyReceived`.
    func giveAwaitedKey(_ identity: ClientIdentity, secrets: StoreSecrets) async throws -> ThreadID? {
        var found: ThreadID?
        for name in AwaitedSignerID.names(of: identity.key) where found == nil {
            found = try await findThread(secrets.lookup(
                AwaitingKeyClient(field: identity.field, address: identity.address, signer: name)))
        }
        guard let thread = found else { return nil }
        let dataKey = try await dataKey(thread, secrets: secrets)
        let sealedKey = try secrets.sealClientKey(identity.key, with: dataKey)
        let lookup = secrets.lookup(identity)
        try await connection.query("""
            UPDATE thread SET awaiting_key = FALSE, client_key_hmac = \(lookup.clientKeyHMAC),
                client_key_sealed = \(sealedKey), client_address_hmac = \(lookup.clientAddressHMAC),
                created_at = greatest(created_at, \(StoreTime.milliseconds(now)))
            WHERE id = \(thread.unredactedDescription) AND awaiting_key
            """, logger: logger)
        try await audit(.threadKeyReceived, thread: thread)
        return thread
    }

    /// ``ReadTransaction/keyStanding(of:)``, on keyed HMACs only.
    func keyStanding(_ lookup: ThreadLookup) async throws -> ClientKeyStanding {
        let (field, key, address) = (lookup.field.rawValue, lookup.clientKeyHMAC, lookup.clientAddressHMAC)
        let own = try await connection.query("""
            SELECT min(created_at), coalesce(bool_or(key_change_confirmed_at IS NOT NULL), FALSE)
            FROM thread WHERE field = \(field) AND client_address_hmac = \(address) AND client_key_hmac = \(key)
            """, logger: logger)
        var first: Int64?
        for try await (earliest, confirmed) in own.decode((Int64?, Bool).self) {
            if confirmed { return .registered }
            first = earliest
        }
        let other: PostgresRowSequence
        if let first {
            other = try await connection.query("""
                SELECT 1 FROM thread WHERE field = \(field) AND client_address_hmac = \(address)
                    AND client_key_hmac != \(key) AND created_at < \(first) LIMIT 1
                """, logger: logger)
        } else {
            other = try await connection.query("""
                SELECT 1 FROM thread WHERE field = \(field) AND client_address_hmac = \(address)
                    AND client_key_hmac != \(key) LIMIT 1
                """, logger: logger)
        }
        for try await _ in other { return .unconfirmedChange }
        return .registered
    }

    /// ``ReadTransaction/threadAnswered(by:client:)``: the client's thread holding one of our outbound messages
    /// with one of these Message-ID HMACs, newest first.
    func threadAnswered(_ hashes: [Data], _ lookup: ThreadLookup) async throws -> ThreadID? {
        guard !hashes.isEmpty else { return nil }
        let buffers = hashes.map { ByteBuffer(bytes: $0) }
        let rows = try await connection.query("""
            SELECT t.id FROM message m JOIN thread t ON t.id = m.thread_id
            WHERE m.direction = \(MessageDirection.outbound.rawValue) AND m.message_id_hmac = ANY(\(buffers))
                AND t.field = \(lookup.field.rawValue) AND t.client_key_hmac = \(lookup.clientKeyHMAC)
                AND (t.client_address_hmac IS NULL OR t.client_address_hmac = \(lookup.clientAddressHMAC))
            ORDER BY m.received_at DESC LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(String.self) { return try ThreadID(id) }
        return nil
    }

    /// The first thread (by `order`) matching `condition`, with its sealed client columns and wrapped key, opened:
    /// ``ReadTransaction/registeredClientKey(field:address:)`` and ``ReadTransaction/firstAddress(ofKey:field:)``.
    func firstClient(field: CounsellingField, addressHMAC: Data?, keyHMAC: Data?, secrets: StoreSecrets) async throws
        -> (ClientKeyFingerprint?, ClientAddress)?
    {
        let rows: PostgresRowSequence
        if let addressHMAC {
            rows = try await connection.query("""
                SELECT t.id, t.client_key_sealed, t.client_address_sealed, k.wrapped_key
                FROM thread t JOIN thread_key k ON k.thread_id = t.id
                WHERE t.field = \(field.rawValue) AND t.client_address_hmac = \(addressHMAC)
                ORDER BY t.key_change_confirmed_at IS NULL, t.key_change_confirmed_at DESC, t.created_at,
                    t.id COLLATE "C" LIMIT 1
                """, logger: logger)
        } else {
            rows = try await connection.query("""
                SELECT t.id, t.client_key_sealed, t.client_address_sealed, k.wrapped_key
                FROM thread t JOIN thread_key k ON k.thread_id = t.id
                WHERE t.field = \(field.rawValue) AND t.client_key_hmac = \(keyHMAC)
                ORDER BY t.created_at, t.id COLLATE "C" LIMIT 1
                """, logger: logger)
        }
        for try await (id, key, address, wrapped) in rows.decode((String, Data, Data, Data).self) {
            let thread = try ThreadID(id)
            let dataKey = try secrets.openDataKey(wrapped, thread: thread)
            return try secrets.openClient(clientKeySealed: key, clientAddressSealed: address, awaitingKey: false,
                                          with: dataKey)
        }
        return nil
    }

    // MARK: Notices and limits

    /// ``WriteTransaction/route(_:newMessageIn:)``: the thread's assignee and its notice target (not disabled,
    /// with an address), `plan`'s decision, then the notice queued or counted.
    func route(_ plan: NoticePlan, newMessageIn thread: ThreadID, secrets: StoreSecrets,
               limits: ThreadStore.Configuration) async throws -> NoticeAction {
        let rows = try await connection.query("""
            SELECT a.id, a.notify_address_sealed, a.notify_mode FROM thread t JOIN account a ON a.id = t.assigned_to
            WHERE t.id = \(thread.unredactedDescription) AND NOT a.disabled AND a.notify_address_sealed IS NOT NULL
            """, logger: logger)
        var assignee: AssigneeNotice?
        for try await (id, sealed, mode) in rows.decode((String, Data, Int).self) {
            let account = try AccountID(id)
            guard let mode = NoticeMode(rawValue: mode) else { throw ThreadStoreError.databaseCorrupt }
            let address = try secrets.openNotificationAddress(sealed, of: account)
            assignee = AssigneeNotice(account: account, settings: NotificationSettings(address: address, mode: mode))
        }
        let action = try plan.decide(thread, assignee)
        switch action {
        case .queue(let item, _):
            try await enqueue(item, secrets: secrets, limits: limits)
        case .count(let recipient, let mode):
            try await countNotice(for: recipient, field: plan.field, mode: mode, at: plan.time)
        }
        return action
    }

    /// ``WriteTransaction/countNotice(for:field:mode:now:)``.
    func countNotice(for recipient: NoticeRecipient, field: CounsellingField, mode: NoticeMode, at time: Date)
        async throws
    {
        guard let window = mode.window(containing: time) else { throw ThreadStoreError.invalidValue }
        let (kind, key) = StoreSecrets.noticeKey(recipient)
        try await connection.query("""
            INSERT INTO notice_pending (recipient_kind, recipient, field, period, window_start, window_end, count)
            VALUES (\(kind), \(key), \(field.rawValue), \(mode.rawValue),
                    \(StoreTime.milliseconds(window.lowerBound)), \(StoreTime.milliseconds(window.upperBound)), 1)
            ON CONFLICT (recipient_kind, recipient, field, window_start)
            DO UPDATE SET count = notice_pending.count + 1
            """, logger: logger)
    }

    /// ThreadStore's `RateLimit.shouldSend` in one statement (as
    /// ``PostgresWebState/shouldSendRedirect(to:now:period:)``).
    func shouldSend(_ key: SenderHMAC, now time: Date, period: TimeInterval) async throws -> Bool {
        let at = StoreTime.milliseconds(time)
        let periodMS = Int64(period * 1000)
        return try await PostgresAccountRows.changed(connection.query("""
            INSERT INTO sender_rate_limit AS r (sender_hmac, last_sent_at) VALUES (\(key.storedBytes), \(at))
            ON CONFLICT (sender_hmac) DO UPDATE SET last_sent_at = excluded.last_sent_at
            WHERE NOT (excluded.last_sent_at - r.last_sent_at < \(periodMS)
                       AND excluded.last_sent_at >= r.last_sent_at)
            RETURNING r.sender_hmac
            """, logger: logger)) == 1
    }

    /// ``WriteTransaction/enqueueOutbox(_:)``: sealed with the item's thread's data key, else the outbox key.
    @discardableResult
    func enqueue(_ item: NewOutboxItem, secrets: StoreSecrets, limits: ThreadStore.Configuration) async throws
        -> OutboxItemID
    {
        var dataKey: ThreadDataKey?
        if let thread = item.thread {
            dataKey = try await self.dataKey(thread, secrets: secrets)
        }
        let row = try secrets.sealOutboxItem(item, with: dataKey, now: now, limits: limits)
        try await insertOutboxItem(row)
        return row.id
    }

    /// ``WriteTransaction/keepRejected(_:)``: false when the ID was kept before.
    func keepRejected(_ message: RejectedMessage, secrets: StoreSecrets, limits: ThreadStore.Configuration)
        async throws -> Bool
    {
        let sealed = try secrets.sealRejected(message, limits: limits)
        return try await PostgresAccountRows.changed(connection.query("""
            INSERT INTO rejected_message (id, reason, rejected_at, size, sealed_envelope, sealed_message)
            VALUES (\(message.id), \(message.reason), \(StoreTime.milliseconds(message.rejectedAt)),
                    \(message.message.count), \(sealed.envelope), \(sealed.message))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """, logger: logger)) == 1
    }
}
