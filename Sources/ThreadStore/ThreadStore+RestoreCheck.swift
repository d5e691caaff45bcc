// Security: the checks a restore runs before it reports success. They unwrap every thread's data key and open
// one sealed value per thread with it, in memory only; the results are counts, never content or IDs.

public import Foundation
import GRDB

/// Row counts of a store, for a backup's manifest and the comparison after a restore. Counts only.
public struct StoreInventory: Hashable, Sendable, Codable, CustomStringConvertible {
    public var threads = 0
    public var messages = 0
    public var outboxItems = 0
    public var accounts = 0
    public var auditEntries = 0
    /// The highest audit sequence number (0 for an empty log): a restored log must end at the same one.
    public var lastAuditSequence: Int64 = 0
    public var keyGeneration = 1

    public init() {}

    public var description: String {
        "threads: \(threads), messages: \(messages), outbox items: \(outboxItems), accounts: \(accounts), "
            + "audit entries: \(auditEntries) (last #\(lastAuditSequence)), key generation: \(keyGeneration)"
    }
}

extension ThreadStore {
    /// The store's row counts, from one read snapshot.
    public func inventory() async throws -> StoreInventory {
        try await mappingDatabaseErrors {
            try await pool.read { db in
                func count(_ table: String) throws -> Int {
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
                }
                var inventory = StoreInventory()
                inventory.threads = try count("thread")
                inventory.messages = try count("message")
                inventory.outboxItems = try count("outbox")
                inventory.accounts = try count("account")
                inventory.auditEntries = try count("audit")
                inventory.lastAuditSequence = try Int64.fetchOne(db, sql: "SELECT max(id) FROM audit") ?? 0
                inventory.keyGeneration = try Int.fetchOne(db, sql: "SELECT key_generation FROM store_meta") ?? 1
                return inventory
            }
        }
    }

    /// Unwraps every thread's data key with this store's master key and opens the thread's sealed client
    /// address with it. Returns how many threads were checked and how many failed. A thread of an organisation
    /// whose key the store was not given counts as checked once the installation's layer of its key opens.
    public func verifyThreadKeys() async throws -> (checked: Int, failed: Int) {
        let keys = self.keys
        return try await mappingDatabaseErrors {
            try await pool.read { db in
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT t.id, k.wrapped_key, t.client_address_sealed FROM thread t
                    LEFT JOIN thread_key k ON k.thread_id = t.id
                    """)
                var checked = 0
                var failed = 0
                while let row = try rows.next() {
                    checked += 1
                    do {
                        let thread = try ThreadID(row["id"] as String)
                        guard let wrapped = row["wrapped_key"] as Data? else { throw ThreadStoreError.unsealingFailed }
                        let key = try Sealing.unwrap(wrapped, for: thread, keys: keys)
                        _ = try Sealing.open(row["client_address_sealed"], key: key,
                                             context: ThreadRecord.context("client_address_sealed", thread: thread))
                    } catch let error as ThreadStoreError where error.code == .organisationKeyMissing {
                        // The installation's layer opened and names an organisation whose key this check was not
                        // given (issue 29): the inner layer can only be checked with that key.
                    } catch {
                        failed += 1
                    }
                }
                return (checked, failed)
            }
        }
    }

    /// Records in the audit log that this store was restored from a backup and verified.
    public func recordRestore(threads: Int) async throws {
        let now = configuration.clock()
        try await write { tx in try AuditLog.append(tx.db, at: now, event: .backupRestored, count: threads) }
    }
}
