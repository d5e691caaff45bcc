// Security: retention on any engine: deleting expired threads is crypto-shredding (the wrapped data key goes with
// the thread), forgetting old replay hashes, rate-limit rows, failed thread-less outbox items, kept rejected
// messages and audit entries older than the audit period. Audit rows carry counts only.

public import Foundation

/// Retention's transactions (issue 21). ``ThreadStoreMaintenance`` runs ``ThreadStore/applyRetention(policy:now:)``
/// and ``WriteTransaction/expireRejected(before:)`` on SQLite; `PostgresThreads` (StorePostgres) the same steps on
/// PostgreSQL, where audit entries are pruned only through the database's `audit_prune` function.
public protocol MaintenanceStore: Sendable {
    /// Deletes threads whose last activity is older than their field's limit (batches of 200, each its own
    /// transaction, audited ``AuditEvent/threadDeletedByRetention``), then forgets old replay hashes, rate-limit
    /// rows and failed thread-less outbox items and prunes audit entries older than `policy.auditDays`, auditing
    /// ``AuditEvent/retentionApplied``.
    func applyRetention(policy: RetentionPolicy, now: Date) async throws -> RetentionReport
    /// Deletes every kept rejected message rejected before `cutoff`; returns how many (audited
    /// ``AuditEvent/rejectedMessagesExpired`` when any).
    func expireRejected(before cutoff: Date) async throws -> Int
    /// Crypto-shreds `organisation` (issue 29): deletes every thread of `fields` and every thread whose data key
    /// carries the organisation's layer, wherever its field (batches of 200, each audited
    /// ``AuditEvent/threadDeleted``), and the organisation's key check, auditing
    /// ``AuditEvent/organisationGatewayKeysRetired`` (`retiredGatewayKeys`: how many of its gateway keys the caller
    /// destroyed) and ``AuditEvent/organisationShredded``; returns how many threads it deleted. Its accounts are the account
    /// administration's (``AccountAdminStore/deleteAccount(_:actor:via:)``).
    func shredOrganisation(_ organisation: OrganisationID, fields: Set<CounsellingField>,
                           retiredGatewayKeys: Int) async throws -> Int
    /// Gives every thread of a field whose organisation's key is loaded, and whose data key is still under the
    /// installation's key alone (from before the organisation had its key), that organisation's layer (batches of
    /// 200, each its own transaction; audited ``AuditEvent/threadKeysSealedForOrganisation`` per organisation).
    /// Returns how many threads per organisation.
    func sealThreadsUnderOrganisationKeys() async throws -> [OrganisationID: Int]
}

/// ``MaintenanceStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreMaintenance: MaintenanceStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func applyRetention(policy: RetentionPolicy, now: Date) async throws -> RetentionReport {
        try await store.applyRetention(policy: policy, now: now)
    }

    public func expireRejected(before cutoff: Date) async throws -> Int {
        try await store.write { tx in try tx.expireRejected(before: cutoff) }
    }

    public func sealThreadsUnderOrganisationKeys() async throws -> [OrganisationID: Int] {
        try await store.sealThreadsUnderOrganisationKeys()
    }

    public func shredOrganisation(_ organisation: OrganisationID, fields: Set<CounsellingField>,
                           retiredGatewayKeys: Int) async throws -> Int {
        try await store.shredOrganisation(organisation, fields: fields, retiredGatewayKeys: retiredGatewayKeys)
    }
}

extension RetentionPolicy {
    /// The fields retention walks with their own limit, in a fixed order, and the cutoff of each (store
    /// milliseconds), then the cutoff of every other field (nil: kept) — the order both engines delete in.
    public func threadCutoffs(now: Date) -> (fields: [(CounsellingField, Int64)], others: Int64?) {
        func cutoff(_ days: Int) -> Int64 { now.storeMilliseconds - Int64(days) * 86_400_000 }
        return (days.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key, cutoff($0.value)) },
                defaultDays.map(cutoff))
    }

    /// The cutoff (store milliseconds) for `days` before `now`.
    public func cutoff(days: Int, now: Date) -> Int64 { now.storeMilliseconds - Int64(days) * 86_400_000 }
}

extension RetentionReport {
    /// A report as an engine counted it.
    public static func counted(deletedThreads: Int, forgottenCiphertextHashes: Int, forgottenRateLimits: Int,
                               deletedOutboxItems: Int, prunedAuditEntries: Int) -> RetentionReport {
        RetentionReport(deletedThreads: deletedThreads, forgottenCiphertextHashes: forgottenCiphertextHashes,
                        forgottenRateLimits: forgottenRateLimits, deletedOutboxItems: deletedOutboxItems,
                        prunedAuditEntries: prunedAuditEntries)
    }
}
