// Security: the keys and sealing of ``InboundStore``'s steps for another engine, forwarding to the code the SQLite
// transactions run (Queries, Sealing, NoticeRows, RejectedSealing): the same HMACs, the same sealed values bound to
// the same rows and columns. Nothing is logged; no value leaves unsealed but keyed HMACs, IDs and codes.

public import Foundation

extension StoreSecrets {
    /// The keyed HMACs of the Message-IDs a message refers to (at most 32, as
    /// ``ReadTransaction/threadAnswered(by:client:)``).
    public func messageIDHMACs(_ messageIDs: [String]) -> [Data] {
        messageIDs.prefix(32).map { keys.indexHMAC("message-id", Data($0.utf8)) }
    }

    /// The keyed HMAC of a client key (`thread.client_key_hmac`, as ``lookup(_:)-(ClientIdentity)`` computes it).
    public func clientKeyHMAC(_ key: ClientKeyFingerprint) -> Data {
        Queries.clientKeyHMAC(key, context: inboundLookupContext)
    }

    /// The keyed HMAC of a client address (`thread.client_address_hmac`; case-insensitive).
    public func clientAddressHMAC(_ address: ClientAddress) -> Data {
        Queries.clientAddressHMAC(address, context: inboundLookupContext)
    }

    private var inboundLookupContext: TransactionContext {
        TransactionContext(keys: keys, configuration: ThreadStore.Configuration(), auditChannel: nil)
    }

    /// The client key sealed into `thread.client_key_sealed` of the thread `dataKey` opens, when a thread without
    /// key gets it (``WriteTransaction/giveAwaitedKey(_:)``).
    public func sealClientKey(_ key: ClientKeyFingerprint, with dataKey: ThreadDataKey) throws(ThreadStoreError)
        -> Data
    {
        try Sealing.sealString(key.hex, key: dataKey.key,
                               context: ThreadRecord.context("client_key_sealed", thread: dataKey.thread))
    }

    /// Opens `account.notify_address_sealed` (``ReadTransaction/notificationSettings(of:)``).
    /// - Throws: ``ThreadStoreError/unsealingFailed`` if it was altered or moved to another account.
    public func openNotificationAddress(_ sealed: Data, of account: AccountID) throws -> ClientAddress {
        try ClientAddress(Sealing.openString(sealed, key: keys.accountSecrets,
                                             context: NoticeRows.addressContext(account)))
    }

    /// `account.notify_address_sealed` for `address` (``WriteTransaction/setNotificationSettings(_:of:actor:)``).
    public func sealNotificationAddress(_ address: ClientAddress, of account: AccountID) throws(ThreadStoreError)
        -> Data
    {
        try Sealing.sealString(address.unredactedDescription, key: keys.accountSecrets,
                               context: NoticeRows.addressContext(account))
    }

    /// The `notice_pending` key columns (`recipient_kind`, `recipient`) of a recipient.
    public static func noticeKey(_ recipient: NoticeRecipient) -> (kind: Int, recipient: String) {
        NoticeRows.key(recipient)
    }

    /// The rate-limit row of a thread's receipt (as ``WriteTransaction/shouldSendReceipt(in:now:period:)``).
    public func receiptKey(_ thread: ThreadID) -> SenderHMAC {
        senderHMAC(canonicalAddress: "\u{0}receipt \(thread.raw.text)")
    }

    /// A rejected message's envelope and message sealed for `rejected_message` (``WriteTransaction/keepRejected(_:)``),
    /// after the same checks.
    /// - Throws: ``ThreadStoreError/invalidValue`` for an empty or long ID, a reason outside 0…1000, a message over
    ///   the body limit or an envelope over 1 MiB.
    public func sealRejected(_ message: RejectedMessage, limits: ThreadStore.Configuration) throws(ThreadStoreError)
        -> (envelope: Data, message: Data)
    {
        guard !message.id.isEmpty, message.id.utf8.count <= 64, (0...1000).contains(message.reason),
            message.message.count <= limits.maximumBodyBytes, message.envelope.count <= 1 << 20
        else { throw ThreadStoreError(.invalidValue) }
        let key = keys.rejected
        return (try Sealing.seal(message.envelope, key: key, context: RejectedSealing.context(message.id, "envelope")),
                try Sealing.seal(message.message, key: key, context: RejectedSealing.context(message.id, "message")))
    }

    /// Whether `event` may be recorded by ``InboundStore/recordInbound(_:reason:)``.
    public static func isInboundRecord(_ event: AuditEvent) -> Bool {
        [.inboundRedirected, .inboundRedirectSuppressed, .inboundEncryptedRejected].contains(event)
    }
}
