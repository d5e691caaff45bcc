// Security: a master key rotation, one value at a time, for both engines. Each function opens a value under the
// old master key's derived key and seals it under the new one, bound to the same table, column and row; the
// opened bytes are wiped. The lookup HMAC keys are kept (sealed under the new key, MasterKeyRotation.swift), so no
// keyed HMAC column changes. Nothing here is logged; `description` shows no key.

public import Foundation
public import MailValues
import Crypto

/// The resealing of a master key rotation from the keys of one master key to those of another.
///
/// SQLite's rotation (``ThreadStore/rotateMasterKey(at:from:to:configuration:)``) and PostgreSQL's both run their
/// rows through these functions, in one transaction, so the two engines reseal alike and no crypto is written twice.
///
/// ```swift
/// let resealing = StoreResealing(from: secrets, to: newKey)
/// let rewrapped = try resealing.threadKey(wrapped, thread: id)
/// let keyCheck = try resealing.keyCheck()
/// ```
public struct StoreResealing: Sendable, CustomStringConvertible {
    let old: DerivedKeys
    let new: DerivedKeys

    /// From the keys of `old` (with their lookup keys) to those of `newKey`, keeping the lookup keys.
    public init(from old: StoreSecrets, to newKey: MasterKey) { self.init(old: old.keys, newKey: newKey) }

    init(old: DerivedKeys, newKey: MasterKey) {
        var new = DerivedKeys(master: newKey)
        new.index = old.index
        new.sender = old.sender
        new.organisations = old.organisations
        self.old = old
        self.new = new
    }

    /// The secrets of the new master key, with the kept lookup keys.
    public var resealed: StoreSecrets { StoreSecrets(keys: new) }

    public var description: String { "StoreResealing(<redacted>)" }

    /// The new `store_meta.key_check`.
    public func keyCheck() throws(ThreadStoreError) -> Data { try Sealing.makeKeyCheck(keys: new) }

    /// The new `store_meta.lookup_keys_sealed`: the kept lookup keys under the new master key.
    public func lookupKeys() throws(ThreadStoreError) -> Data {
        try new.sealLookupKeys(index: old.index, sender: old.sender)
    }

    /// A thread's wrapped data key (`thread_key.wrapped_key`), rewrapped.
    public func threadKey(_ wrapped: Data, thread: ThreadID) throws(ThreadStoreError) -> Data {
        try Sealing.rewrap(wrapped, for: thread, from: old, to: new)
    }

    /// A thread-less outbox item's `recipient_sealed` or `payload_sealed`.
    public func outboxValue(_ sealed: Data, column: String, item: OutboxItemID) throws(ThreadStoreError) -> Data {
        try Self.reseal(sealed, from: old.outbox, to: new.outbox,
                        context: OutboxRecord.context(column, thread: nil, item: item))
    }

    /// An account's `totp_secret_sealed`.
    public func totpSecret(_ sealed: Data, of account: AccountID) throws(ThreadStoreError) -> Data {
        try Self.reseal(sealed, from: old.accountSecrets, to: new.accountSecrets,
                        context: AccountRows.sealContext(account))
    }

    /// An account's `notify_address_sealed`.
    public func notificationAddress(_ sealed: Data, of account: AccountID) throws(ThreadStoreError) -> Data {
        try Self.reseal(sealed, from: old.accountSecrets, to: new.accountSecrets,
                        context: NoticeRows.addressContext(account))
    }

    /// A kept rejected message's `sealed_envelope` (`column` "envelope") or `sealed_message` ("message").
    public func rejected(_ sealed: Data, column: String, id: String) throws(ThreadStoreError) -> Data {
        try Self.reseal(sealed, from: old.rejected, to: new.rejected, context: RejectedSealing.context(id, column))
    }

    /// A gateway key's `sealed_revocation` (`part` "revocation") or `sealed_reason` ("reason").
    public func gatewayKeyValue(_ sealed: Data, part: String, fingerprint: KeyFingerprint) throws(ThreadStoreError)
        -> Data
    {
        try Self.reseal(sealed, from: old.gatewayKeys, to: new.gatewayKeys,
                        context: GatewayKeySealing.context(fingerprint, part))
    }

    /// A shared client public key (PostgreSQL's `public_key.sealed`, row `rowKey`).
    public func publicKey(_ sealed: Data, rowKey: Data) throws(ThreadStoreError) -> Data {
        try Self.reseal(sealed, from: old.publicKeys, to: new.publicKeys, context: StoreSecrets.publicKeyContext(rowKey))
    }

    /// A shared gateway secret key (PostgreSQL's `gateway_secret_key.sealed`, row `rowKey`).
    public func gatewaySecretKey(_ sealed: Data, rowKey: Data) throws(ThreadStoreError) -> Data {
        try Self.reseal(sealed, from: old.gatewaySecretKeys, to: new.gatewaySecretKeys,
                        context: StoreSecrets.gatewaySecretKeyContext(rowKey))
    }

    /// `sealed` opened under `old` and sealed again under `new` with the same context; the plaintext is wiped.
    static func reseal(_ sealed: Data, from old: SymmetricKey, to new: SymmetricKey, context: SealContext)
        throws(ThreadStoreError) -> Data
    {
        var plain = try Sealing.open(sealed, key: old, context: context)
        defer { plain.withUnsafeMutableBytes { memset_s_portable($0) } }
        return try Sealing.seal(plain, key: new, context: context)
    }
}
