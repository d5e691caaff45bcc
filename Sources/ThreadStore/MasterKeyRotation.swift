// Security: rewraps every per-thread data key and reseals every value sealed under a key derived from the master
// key (thread-less outbox items, account TOTP secrets and notification addresses, rejected messages, the key
// check), all in ONE SQLite transaction: a crash at any point leaves the store opening with exactly one of the
// two keys. Afterwards no sealed value of the store opens under the old key. The lookup HMAC keys are kept
// (sealed under the new key), because most HMAC inputs (replay fingerprints, content hashes) are not stored and
// cannot be recomputed; see docs/operations.md. Key bytes are never logged; errors carry no content.

public import Foundation
import Crypto
import GRDB

/// What a master key rotation resealed; counts only.
public struct MasterKeyRotationSummary: Hashable, Sendable, CustomStringConvertible {
    /// Per-thread data keys rewrapped.
    public var threadKeys = 0
    /// Thread-less outbox items resealed (recipient and payload).
    public var outboxItems = 0
    /// Accounts whose TOTP secret or notification address was resealed.
    public var accounts = 0
    /// Rejected encrypted messages resealed.
    public var rejectedMessages = 0
    /// Gateway keys whose revocation certificate or revocation reason was resealed.
    public var gatewayKeys = 0
    /// Keys on PostgreSQL's key shelves (the clients' public keys, the gateway's secret keys) resealed; 0 on SQLite.
    public var sharedKeys = 0
    /// Messages waiting in PostgreSQL's shared inbound spool resealed (envelope and every piece); 0 on SQLite.
    public var spooledMessages = 0
    /// Messages in the shared inbound spool that did not open under the old key (altered or missing pieces): marked
    /// damaged, as a node restoring them would, not resealed; `mailbridge spool list` names them.
    public var damagedSpooledMessages = 0
    /// The store's key generation after the rotation (1 for a store that was never rotated).
    public var generation = 0

    /// Nothing resealed yet.
    public init() {}

    public var description: String {
        "thread keys: \(threadKeys), outbox items: \(outboxItems), accounts: \(accounts), "
            + "rejected messages: \(rejectedMessages), gateway keys: \(gatewayKeys), "
            + (sharedKeys > 0 ? "shared keys: \(sharedKeys), " : "")
            + (spooledMessages > 0 ? "spooled messages: \(spooledMessages), " : "")
            + (damagedSpooledMessages > 0 ? "spooled messages marked damaged: \(damagedSpooledMessages), " : "")
            + "key generation: \(generation)"
    }
}

extension ThreadStore {
    /// Rotates the master key of the store at `url` from `old` to `new` in one transaction, then checkpoints and
    /// closes it. Run it only while no other process has the store open (the gateway refuses to share it).
    ///
    /// - Throws: ``ThreadStoreError/wrongMasterKey`` if `old` does not open the store (nothing changes).
    public static func rotateMasterKey(
        at url: URL, from old: MasterKey, to new: MasterKey, configuration: Configuration = Configuration()
    ) async throws -> MasterKeyRotationSummary {
        let store = try ThreadStore(at: url, masterKey: old, configuration: configuration)
        let summary: MasterKeyRotationSummary
        do {
            summary = try await store.rotate(to: new)
            try? await store.checkpoint()  // old wrapped keys leave the WAL (secure_delete zeroes freed pages)
        } catch {
            try? store.close()
            throw error
        }
        try store.close()
        return summary
    }

    /// The key generation recorded in the store (1 until the first rotation).
    public func keyGeneration() async throws -> Int {
        try await mappingDatabaseErrors {
            try await pool.read { db in try Int.fetchOne(db, sql: "SELECT key_generation FROM store_meta") ?? 1 }
        }
    }

    /// Reseals everything under `newKey`. This value keeps the old keys: close it afterwards.
    private func rotate(to newKey: MasterKey) async throws -> MasterKeyRotationSummary {
        let resealing = StoreResealing(old: keys, newKey: newKey)
        let now = configuration.clock()
        return try await mappingDatabaseErrors {
            try await pool.write { db in
                var summary = MasterKeyRotationSummary()
                summary.threadKeys = try KeyResealing.threadKeys(db, resealing)
                summary.outboxItems = try KeyResealing.outbox(db, resealing)
                summary.accounts = try KeyResealing.accounts(db, resealing)
                summary.rejectedMessages = try KeyResealing.rejected(db, resealing)
                summary.gatewayKeys = try KeyResealing.gatewayKeys(db, resealing)
                let generation = (try Int.fetchOne(db, sql: "SELECT key_generation FROM store_meta") ?? 1) + 1
                try db.execute(
                    sql: """
                        UPDATE store_meta SET key_check = ?, lookup_keys_sealed = ?, key_generation = ? WHERE id = 1
                        """,
                    arguments: [try resealing.keyCheck(), try resealing.lookupKeys(), generation])
                guard db.changesCount == 1 else { throw ThreadStoreError.notAThreadStore }
                summary.generation = generation
                try AuditLog.append(db, at: now, event: .masterKeyRotated, count: summary.threadKeys)
                return summary
            }
        }
    }
}

/// The resealing steps of a rotation on SQLite, one per table (the values through ``StoreResealing``); each returns
/// how many rows it changed.
enum KeyResealing {
    static func threadKeys(_ db: Database, _ resealing: StoreResealing) throws -> Int {
        let rows = try Row.fetchCursor(db, sql: "SELECT thread_id, wrapped_key FROM thread_key")
        let update = try db.makeStatement(sql: "UPDATE thread_key SET wrapped_key = ? WHERE thread_id = ?")
        var pending: [(String, Data)] = []
        while let row = try rows.next() {
            let thread = try ThreadID(row["thread_id"] as String)
            pending.append((thread.unredactedDescription, try resealing.threadKey(row["wrapped_key"], thread: thread)))
        }
        for (thread, wrapped) in pending { try update.execute(arguments: [wrapped, thread]) }
        return pending.count
    }

    static func outbox(_ db: Database, _ resealing: StoreResealing) throws -> Int {
        let rows = try Row.fetchAll(
            db, sql: "SELECT id, recipient_sealed, payload_sealed FROM outbox WHERE thread_id IS NULL")
        for row in rows {
            let id = try OutboxItemID(row["id"] as String)
            try db.execute(sql: "UPDATE outbox SET recipient_sealed = ?, payload_sealed = ? WHERE id = ?", arguments: [
                try resealing.outboxValue(row["recipient_sealed"], column: "recipient_sealed", item: id),
                try resealing.outboxValue(row["payload_sealed"], column: "payload_sealed", item: id),
                id.unredactedDescription,
            ])
        }
        return rows.count
    }

    static func accounts(_ db: Database, _ resealing: StoreResealing) throws -> Int {
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, totp_secret_sealed, notify_address_sealed FROM account
            WHERE totp_secret_sealed IS NOT NULL OR notify_address_sealed IS NOT NULL
            """)
        for row in rows {
            let id = try AccountID(row["id"] as String)
            if let sealed = row["totp_secret_sealed"] as Data? {
                try db.execute(sql: "UPDATE account SET totp_secret_sealed = ? WHERE id = ?",
                               arguments: [try resealing.totpSecret(sealed, of: id), id.unredactedDescription])
            }
            if let sealed = row["notify_address_sealed"] as Data? {
                try db.execute(sql: "UPDATE account SET notify_address_sealed = ? WHERE id = ?",
                               arguments: [try resealing.notificationAddress(sealed, of: id), id.unredactedDescription])
            }
        }
        return rows.count
    }

    static func rejected(_ db: Database, _ resealing: StoreResealing) throws -> Int {
        let ids = try String.fetchAll(db, sql: "SELECT id FROM rejected_message")
        for id in ids {
            for column in ["envelope", "message"] {
                let sealed = try Data.fetchOne(
                    db, sql: "SELECT sealed_\(column) FROM rejected_message WHERE id = ?", arguments: [id]) ?? Data()
                try db.execute(sql: "UPDATE rejected_message SET sealed_\(column) = ? WHERE id = ?",
                               arguments: [try resealing.rejected(sealed, column: column, id: id), id])
            }
        }
        return ids.count
    }

    static func gatewayKeys(_ db: Database, _ resealing: StoreResealing) throws -> Int {
        let rows = try Row.fetchAll(db, sql: """
            SELECT fingerprint, sealed_revocation, sealed_reason FROM gateway_key
            WHERE sealed_revocation IS NOT NULL OR sealed_reason IS NOT NULL
            """)
        for row in rows {
            let fingerprint = try GatewayKeySealing.fingerprint(row)
            for (column, part) in [("sealed_revocation", "revocation"), ("sealed_reason", "reason")] {
                guard let sealed = row[column] as Data? else { continue }
                try db.execute(sql: "UPDATE gateway_key SET \(column) = ? WHERE fingerprint = ?", arguments: [
                    try resealing.gatewayKeyValue(sealed, part: part, fingerprint: fingerprint), fingerprint.hex,
                ])
            }
        }
        return rows.count
    }
}
