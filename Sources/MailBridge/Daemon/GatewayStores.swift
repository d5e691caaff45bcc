// Security: which engine each part of the daemon keeps its state in. Every seam seals, keys and audits as
// ThreadStore does (docs/postgresql.md, "The engine-neutral seam"); this type only hands them out.

public import Foundation
public import StorePostgres
public import ThreadStore

/// The store seams the daemon's parts run on (issue 21): one engine for all of them.
///
/// ```swift
/// let stores = GatewayStores.sqlite(store)
/// let composer = ReplyComposer(replies: stores.replies, pgp: pgp, mailboxes: directory, logger: logger)
/// ```
public struct GatewayStores: Sendable {
    /// The pipeline's inbound transactions.
    public var inbound: any InboundStore
    /// The counsellor inbox (lists, threads, attachments, state, assignment, deletion, notification settings).
    public var inbox: any InboxStore
    /// Counsellor replies and held replies.
    public var replies: any ReplyStore
    /// The web inbox's authentication state (accounts, sessions, TOTP steps, login locks, API tokens).
    public var webState: any WebStateStore
    /// The metrics gauges' counts.
    public var gauges: any GaugeStore
    /// Retention.
    public var maintenance: any MaintenanceStore
    /// The digest pass.
    public var digests: any NoticeDigestStore
    /// The gateway keys' lifecycle records.
    public var gatewayKeys: any GatewayKeyStore
    /// The account and API token administration (`mailbridge users`, `tokens`).
    public var accounts: any AccountAdminStore
    /// The audit log read back (`mailbridge audit`).
    public var audit: any AuditLogStore
    /// Rejected encrypted messages kept sealed (`mailbridge spool … --rejected`).
    public var rejected: any RejectedMessageStore
    /// The webhook outbox (issue 29): events the store records, their delivery state.
    public var webhooks: any WebhookEventStore

    /// Every seam over one SQLite ``ThreadStore`` (the embedded default).
    public static func sqlite(_ store: ThreadStore) -> GatewayStores {
        GatewayStores(inbound: ThreadStoreImport(store), inbox: ThreadStoreInbox(store),
                      replies: ThreadStoreReplies(store), webState: ThreadStoreWebState(store),
                      gauges: ThreadStoreGauges(store), maintenance: ThreadStoreMaintenance(store),
                      digests: ThreadStoreNoticeDigests(store), gatewayKeys: ThreadStoreGatewayKeys(store),
                      accounts: ThreadStoreAccountAdmin(store), audit: ThreadStoreAuditLog(store),
                      rejected: ThreadStoreRejectedMessages(store), webhooks: ThreadStoreWebhookEvents(store))
    }

    /// Every seam on PostgreSQL: `threads` and `webState` share one pool (``PostgresThreads/open(_:masterKey:
    /// configuration:logger:)``, ``PostgresWebState/open(_:masterKey:clock:logger:)``).
    public static func postgresql(_ threads: PostgresThreads, webState: PostgresWebState) -> GatewayStores {
        GatewayStores(inbound: threads, inbox: threads, replies: threads, webState: webState, gauges: threads,
                      maintenance: threads, digests: threads, gatewayKeys: threads, accounts: webState,
                      audit: threads, rejected: threads, webhooks: threads)
    }
}
