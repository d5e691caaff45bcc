// Security: every transaction the inbound pipeline runs, as whole steps an engine runs atomically. The steps carry
// decrypted messages (sealed by the engine exactly as ``ImportStore`` seals them), outbox items the pipeline built
// (redirect texts, notices, receipts, key requests: fixed texts, opaque IDs, or ciphertext), keyed HMACs and small
// codes. Nothing here is logged; every value's `description` shows no content and no address.

public import Foundation

/// The engine-neutral seam of the inbound pipeline (docs/postgresql.md, "The engine-neutral seam"): each method is
/// one transaction the pipeline ran as a `store.write {}` or `store.read {}` closure on SQLite, with the same
/// reads, writes and audit entries, and is atomic against every other caller of the same database.
///
/// - ``importFromClient(_:)``: encrypted mail of a client key (the awaited key given, the key's standing, the
///   answered thread, the import, its notice or digest count, the receipt).
/// - ``importAwaitingKey(_:)``: encrypted mail without key (issue 17: the import, its notice, the key request).
/// - ``queueRedirect(_:sender:now:period:)``: plain mail's redirect under its limit.
/// - ``queueLimitedNotice(_:key:now:period:recording:)``: an unstorable message's audit and team notice (issue 25).
/// - ``queueNotice(_:once:now:period:)``: the fetch-failure notice, once per token (issue 28).
/// - ``keepRejected(_:)``: a rejected encrypted message kept sealed (issue 28).
/// - ``recordInbound(_:reason:)``: the audit row of a rejection or a suppressed redirect.
/// - ``registeredClientKey(field:address:)``, ``firstAddress(ofKey:field:)``: the client key and the signer's thread.
///
/// `ThreadStoreImport` implements it on SQLite (the closures moved unchanged); `PostgresThreads` (StorePostgres)
/// on PostgreSQL. What each method queued is returned, so the caller wakes its queue after the commit.
///
/// ```swift
/// let threads: any InboundStore = ThreadStoreImport(store)
/// let done = try await threads.importFromClient(step)
/// if done.queued > 0 { outbox.wake() }
/// ```
public protocol InboundStore: ImportStore {
    /// The limits of the store (``ThreadStore/Configuration``): what a message must fit.
    var limits: ThreadStore.Configuration { get }
    /// The keyed HMAC of a canonical sender address (the redirect limit's key, as
    /// ``ThreadStore/senderHMAC(canonicalAddress:)``).
    func senderHMAC(canonicalAddress: String) -> SenderHMAC

    /// A message of a client key: gives an awaiting thread its key (when ``ClientMessageImport/givesAwaitedKey``),
    /// decides the key's standing and from it the verdict, finds the thread the message answers, imports it there
    /// (or into the client's thread), and for a newly stored message routes its notice and, for a valid verdict,
    /// queues the receipt unless one went out within its period. One transaction.
    func importFromClient(_ step: ClientMessageImport) async throws -> ClientMessageImported
    /// A message without key (issue 17): imports it into its sender's thread without key, routes its notice and,
    /// at most once per period per address, queues the key request. One transaction.
    func importAwaitingKey(_ step: AwaitingKeyMessageImport) async throws -> InboundImported
    /// Queues a redirect reply unless one went to `sender` within `period`; audits ``AuditEvent/inboundRedirected``
    /// or ``AuditEvent/inboundRedirectSuppressed`` (code 2). Returns whether it was queued.
    func queueRedirect(_ item: NewOutboxItem, sender: SenderHMAC, now: Date, period: TimeInterval) async throws
        -> Bool
    /// Audits `recording` and queues `item` unless an item under `key` was queued within `period` (the redirect
    /// limit's table, under a key no address can have). Returns whether it was queued.
    func queueLimitedNotice(_ item: NewOutboxItem, key: SenderHMAC, now: Date, period: TimeInterval,
                            recording: InboundRecord) async throws -> Bool
    /// Queues `item` unless `token` (content-free) was recorded within `period`
    /// (``WriteTransaction/recordOnce(_:now:period:)``); without a token it is queued. Returns whether it was queued.
    func queueNotice(_ item: NewOutboxItem, once token: String?, now: Date, period: TimeInterval) async throws -> Bool
    /// Keeps a rejected encrypted message sealed (``WriteTransaction/keepRejected(_:)``); false if its ID was kept.
    func keepRejected(_ message: RejectedMessage) async throws -> Bool
    /// Audits what happened to an inbound message that left no content (``WriteTransaction/recordInbound(_:reason:)``).
    func recordInbound(_ event: AuditEvent, reason: Int?) async throws
    /// The client key registered for `address` in `field` (``ReadTransaction/registeredClientKey(field:address:)``).
    func registeredClientKey(field: CounsellingField, address: ClientAddress) async throws -> ClientKeyFingerprint?
    /// The address of the first thread of `key` in `field` (``ReadTransaction/firstAddress(ofKey:field:)``).
    func firstAddress(ofKey key: ClientKeyFingerprint, field: CounsellingField) async throws -> ClientAddress?
    /// Whether a receipt may still be due for a message of `identity` answering `references` (issue 23: a receipt
    /// is encrypted before the import, so one the import's rate limit will refuse is better not made). False only
    /// when the thread the import will choose recorded a receipt within `period`; a thread that awaits this key
    /// and gets it (`givesAwaitedKey`) changes in the import, so nothing is predicted. Reading a refusal early is
    /// safe: the recorded time only moves forward. The default predicts nothing (true).
    func receiptMayBeDue(for identity: ClientIdentity, references: [String], givesAwaitedKey: Bool, now: Date,
                         period: TimeInterval) async throws -> Bool
}

extension InboundStore {
    public func receiptMayBeDue(for identity: ClientIdentity, references: [String], givesAwaitedKey: Bool,
                                now: Date, period: TimeInterval) async throws -> Bool {
        true
    }
}

extension InboundStore {
    /// The keyed HMAC of a client address for the key-request limit
    /// (as ``ThreadStore/keyRequestHMAC(canonicalAddress:)``).
    public func keyRequestHMAC(canonicalAddress: String) -> SenderHMAC {
        senderHMAC(canonicalAddress: "key-request\u{0}\(canonicalAddress)")
    }
}
