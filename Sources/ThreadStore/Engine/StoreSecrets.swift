// Security: the one door through which a second store engine (PostgreSQL, issue 21) seals and keys what it stores.
// Every key here is derived from the master key by ThreadStore's own code (Sealing.swift, LookupKeys.swift,
// RateLimit.swift, AccountRecord.swift); this file only forwards to it, so both engines seal byte for byte alike
// and no crypto is written twice. Nothing here is logged; `description` shows no key.

public import Foundation

/// The master key's derived keys and ThreadStore's sealing rules, for an engine that is not SQLite.
///
/// PostgreSQL only ever sees what these functions return: sealed boxes bound to their table, column and row,
/// keyed HMACs and SHA-256 digests of random tokens.
///
/// ```swift
/// var secrets = StoreSecrets(masterKey: key)
/// guard secrets.verifiesKeyCheck(storedKeyCheck) else { throw ThreadStoreError.wrongMasterKey }
/// if let sealed = storedLookupKeys { secrets = try secrets.withLookupKeys(sealed: sealed) }
/// let sealed = try secrets.sealTOTPSecret("JBSWY3DPEHPK3PXP", for: account)
/// ```
public struct StoreSecrets: Sendable, CustomStringConvertible {
    let keys: DerivedKeys

    /// The keys derived from `masterKey` (lookup keys as before any rotation; see ``withLookupKeys(sealed:)``).
    public init(masterKey: MasterKey) { keys = DerivedKeys(master: masterKey) }

    init(keys: DerivedKeys) { self.keys = keys }

    public var description: String { "StoreSecrets(<redacted>)" }

    // MARK: The master key check and the lookup keys (store_meta)

    /// A new `store_meta.key_check` value: a constant sealed under this master key.
    public func makeKeyCheck() throws(ThreadStoreError) -> Data { try Sealing.makeKeyCheck(keys: keys) }

    /// Whether a stored `store_meta.key_check` was made with this master key.
    public func verifiesKeyCheck(_ sealed: Data) -> Bool { Sealing.verifyKeyCheck(sealed, keys: keys) }

    /// These keys with the lookup HMAC keys of `store_meta.lookup_keys_sealed` (set by a master key rotation).
    public func withLookupKeys(sealed: Data) throws(ThreadStoreError) -> StoreSecrets {
        StoreSecrets(keys: try keys.withLookupKeys(sealed: sealed))
    }

    /// These keys with the organisations' own keys (issue 29) as the inner layer of new threads' data keys.
    public func withOrganisationKeys(_ organisations: OrganisationKeys) -> StoreSecrets {
        var keys = keys
        keys.organisations = organisations
        return StoreSecrets(keys: keys)
    }

    /// A `thread_key.wrapped_key` under the installation's key alone, given the layer of the organisation owning
    /// `field` (``ThreadStore/sealThreadsUnderOrganisationKeys()``); nil when there is nothing to add.
    public func addingOrganisationLayer(_ wrapped: Data, thread: ThreadID, field: CounsellingField)
        throws(ThreadStoreError) -> Data?
    {
        try Sealing.addingOrganisationLayer(wrapped, for: thread, field: field, keys: keys)
    }

    /// The organisation whose key seals a `thread_key.wrapped_key`'s inner layer (read from the installation's
    /// layer, no organisation key needed); nil for a key under the installation's key alone.
    public func organisation(ofWrappedKey wrapped: Data, thread: ThreadID) throws(ThreadStoreError) -> OrganisationID? {
        try Sealing.organisation(of: wrapped, for: thread, keys: keys)
    }

    /// The length of a `thread_key.wrapped_key` without an organisation's layer.
    public static var singleLayerLength: Int { Sealing.singleLayerLength }

    /// The organisations' keys in force.
    public var organisationKeys: OrganisationKeys { keys.organisations }

    // MARK: Keyed lookups

    /// The keyed HMAC of a canonical sender address (as ``ThreadStore/senderHMAC(canonicalAddress:)``).
    public func senderHMAC(canonicalAddress: String) -> SenderHMAC {
        SenderHMAC(bytes: RateLimit.hmac(canonicalAddress: canonicalAddress, keys: keys))
    }

    /// The rate-limit row of a ``WriteTransaction/recordOnce(_:now:period:)`` token: the same HMAC the SQLite
    /// engine stores for it.
    public func onceKey(_ token: String) -> SenderHMAC {
        senderHMAC(canonicalAddress: "\u{0}once \(token)")
    }

    /// The row key of a login-lock key (`user:anna`, `ip:192.0.2.1`, …): a keyed HMAC, so the table names no user
    /// and no client address.
    public func loginLockKey(_ key: String) -> Data { keys.indexHMAC("login-lock", Data(key.utf8)) }

    /// The HMAC for the web inbox's device cookies (as ``ThreadStore/webDeviceMAC(_:)``).
    public func webDeviceMAC(_ message: some DataProtocol) -> Data { keys.webDeviceMAC(message) }

    // MARK: Account secrets and tokens

    /// The TOTP secret sealed for `account.totp_secret_sealed`, bound to the account row.
    public func sealTOTPSecret(_ secret: String, for account: AccountID) throws(ThreadStoreError) -> Data {
        guard !secret.isEmpty, secret.utf8.count <= 256 else { throw .invalidValue }
        return try Sealing.sealString(secret, key: keys.accountSecrets, context: AccountRows.sealContext(account))
    }

    /// Opens a sealed `account.totp_secret_sealed`.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when it was altered or moved to another account.
    public func openTOTPSecret(_ sealed: Data, for account: AccountID) throws(ThreadStoreError) -> String {
        try Sealing.openString(sealed, key: keys.accountSecrets, context: AccountRows.sealContext(account))
    }

    /// The stored form of a session or API token: SHA-256 of its UTF-8 bytes.
    public static func tokenHash(_ token: String) -> Data { AccountRows.tokenHash(token) }

    /// A new session or CSRF token: 256 random bits as 64 lower-case hex characters.
    public static func randomToken() -> String { AccountRows.randomToken() }
}
