// Security: all content at rest goes through here. Values are sealed with ChaCha20-Poly1305 (RFC 8439) under a
// per-thread random data key (or, for thread-less outbox items, a key derived from the master key). The
// associated data binds each ciphertext to its table, column and row (thread ID, row ID, position), so a sealed
// value copied into another row or column fails to open. Data keys are themselves sealed ("wrapped") under a
// key derived from the master key with HKDF-SHA256 (RFC 5869), bound to their thread ID.

import Crypto
import Foundation

/// Keys derived once from the master key at open (RFC 5869 HKDF-SHA256, distinct `info` per purpose).
struct DerivedKeys: Sendable {
    /// Wraps per-thread data keys and seals the key check value.
    let wrapping: SymmetricKey
    /// Seals outbox items that belong to no thread (auto-replies to plain mail).
    let outbox: SymmetricKey
    /// Keys lookup HMACs: client key fingerprints, Message-IDs, content hashes. Kept across a master key
    /// rotation, sealed in `store_meta.lookup_keys_sealed` (MasterKeyRotation.swift).
    var index: SymmetricKey
    /// Keys sender HMACs for the auto-reply rate limit. Kept across a rotation like `index`.
    var sender: SymmetricKey
    /// Seals account secrets (the TOTP shared secret).
    let accountSecrets: SymmetricKey
    /// Authenticates the web inbox's device cookies (stateless; they name a user, never content).
    let webDevices: SymmetricKey
    /// Seals rejected encrypted messages kept for a while (issue 28): the raw message and its envelope.
    let rejected: SymmetricKey
    /// Seals the gateway keys' revocation certificates and revocation reasons (issue 20).
    let gatewayKeys: SymmetricKey
    /// Seals the clients' public keys shared by several nodes on PostgreSQL (issue 21): they name their owners.
    let publicKeys: SymmetricKey
    /// Seals the gateway's own secret keys shared by several nodes on PostgreSQL (issue 21).
    let gatewaySecretKeys: SymmetricKey
    /// Seals the messages a node accepted into the spool shared on PostgreSQL, before they are processed
    /// (issue 21): envelope and message, plain mail included.
    let inboundSpool: SymmetricKey
    /// The organisations' own keys (issue 29): the inner layer of their threads' wrapped data keys.
    var organisations = OrganisationKeys()

    init(master: MasterKey) {
        func derive(_ purpose: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(
                inputKeyMaterial: master.key,
                salt: Data("MailBridge ThreadStore".utf8),
                info: Data("\(purpose) v1".utf8),
                outputByteCount: 32
            )
        }
        wrapping = derive("data key wrapping")
        outbox = derive("outbox sealing")
        index = derive("index hmac")
        sender = derive("sender rate limit hmac")
        accountSecrets = derive("account secret sealing")
        webDevices = derive("web device cookie hmac")
        rejected = derive("rejected message sealing")
        gatewayKeys = derive("gateway key revocation sealing")
        publicKeys = derive("shared public key sealing")
        gatewaySecretKeys = derive("shared gateway secret key sealing")
        inboundSpool = derive("shared inbound spool sealing")
    }

    /// HMAC-SHA256 of `message` under the device-cookie key.
    func webDeviceMAC(_ message: some DataProtocol) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: message, using: webDevices))
    }

    /// HMAC-SHA256 of `bytes` under the index key, with a domain label so different lookups never collide.
    func indexHMAC(_ label: String, _ bytes: some DataProtocol) -> Data {
        var hmac = HMAC<SHA256>(key: index)
        hmac.update(data: Data(label.utf8))
        hmac.update(data: [0])
        hmac.update(data: bytes)
        return Data(hmac.finalize())
    }
}

/// Where a sealed value lives; serialised into the AEAD associated data.
struct SealContext {
    var table: String
    var column: String
    var threadID: String
    var rowID: String
    var position: Int = 0

    /// Length-prefixed components, so no two contexts serialise to the same bytes.
    var associatedData: Data {
        var data = Data("mailbridge.threadstore.v1".utf8)
        for part in [table, column, threadID, rowID, String(position)] {
            let bytes = Array(part.utf8)
            data.append(UInt8(truncatingIfNeeded: bytes.count >> 8))
            data.append(UInt8(truncatingIfNeeded: bytes.count))
            data.append(contentsOf: bytes)
        }
        return data
    }
}

/// Seals and opens values. Format: one version byte (1) followed by ChaChaPoly's combined box
/// (12-byte nonce, ciphertext, 16-byte tag).
enum Sealing {
    static let version: UInt8 = 1
    /// Bytes a sealed value adds to its plaintext.
    static let overhead = 1 + 12 + 16

    static func seal(
        _ plaintext: some DataProtocol,
        key: SymmetricKey,
        context: SealContext
    ) throws(ThreadStoreError)
        -> Data
    {
        do {
            let box = try ChaChaPoly.seal(plaintext, using: key, authenticating: context.associatedData)
            var out = Data(capacity: box.combined.count + 1)
            out.append(version)
            out.append(box.combined)
            return out
        } catch {
            throw .sealingFailed
        }
    }

    /// Opens a sealed value of either format: 1 (above) or 2, large values sealed in pieces (``SealedPieces``).
    static func open(_ sealed: Data, key: SymmetricKey, context: SealContext) throws(ThreadStoreError) -> Data {
        if sealed.first == SealedPieces.version { return try SealedPieces.open(sealed, key: key, context: context) }
        guard sealed.count >= overhead, sealed.first == version else { throw .unsealingFailed }
        do {
            let box = try ChaChaPoly.SealedBox(combined: sealed.dropFirst())
            return try ChaChaPoly.open(box, using: key, authenticating: context.associatedData)
        } catch {
            throw .unsealingFailed
        }
    }

    static func sealString(_ text: String, key: SymmetricKey, context: SealContext) throws(ThreadStoreError) -> Data {
        try seal(Data(text.utf8), key: key, context: context)
    }

    static func openString(
        _ sealed: Data,
        key: SymmetricKey,
        context: SealContext
    ) throws(ThreadStoreError)
        -> String
    {
        let data = try open(sealed, key: key, context: context)
        guard let text = String(data: data, encoding: .utf8) else { throw .unsealingFailed }
        return text
    }

    // MARK: Data keys

    static func newDataKey() -> SymmetricKey { SymmetricKey(size: .bits256) }

    private static func wrapContext(_ thread: ThreadID) -> SealContext {
        SealContext(table: "thread_key", column: "wrapped_key", threadID: thread.unredactedDescription, rowID: "")
    }

    /// `dataKey` wrapped for a new thread of `field`: under the key of the organisation owning the field, if any
    /// (``OrganisationKeys``), and then under the installation's wrapping key, bound to the thread.
    /// - Throws: ``ThreadStoreError/organisationKeyMissing`` when the field's organisation has no key loaded.
    static func wrap(
        _ dataKey: SymmetricKey,
        for thread: ThreadID,
        field: CounsellingField?,
        keys: DerivedKeys
    ) throws(ThreadStoreError)
        -> Data
    {
        var raw = dataKey.withUnsafeBytes { Data($0) }
        // Without an organisation the layer is `raw` itself (one shared buffer): both are wiped, so that
        // whichever is written first gets its own copy and the shared bytes are zeroed through the other.
        var layer = try keys.organisations.innerLayer(raw, for: thread, field: field)
        defer {
            layer.withUnsafeMutableBytes { memset_s_portable($0) }
            raw.withUnsafeMutableBytes { memset_s_portable($0) }
        }
        return try seal(layer, key: keys.wrapping, context: wrapContext(thread))
    }

    static func unwrap(
        _ wrapped: Data,
        for thread: ThreadID,
        keys: DerivedKeys
    ) throws(ThreadStoreError)
        -> SymmetricKey
    {
        var layer = try open(wrapped, key: keys.wrapping, context: wrapContext(thread))
        defer { layer.withUnsafeMutableBytes { memset_s_portable($0) } }
        // For a key without an organisation's layer `raw` shares `layer`'s buffer: both are wiped (see `wrap`).
        var raw = try keys.organisations.openInnerLayer(layer, for: thread)
        defer { raw.withUnsafeMutableBytes { memset_s_portable($0) } }
        guard raw.count == 32 else { throw .unsealingFailed }
        return SymmetricKey(data: raw)
    }

    /// `wrapped` resealed from `old`'s installation wrapping key to `new`'s (a master key rotation); an
    /// organisation's inner layer is kept as it is, so the rotation needs no organisation's key.
    static func rewrap(_ wrapped: Data, for thread: ThreadID, from old: DerivedKeys, to new: DerivedKeys)
        throws(ThreadStoreError) -> Data
    {
        var layer = try open(wrapped, key: old.wrapping, context: wrapContext(thread))
        defer { layer.withUnsafeMutableBytes { memset_s_portable($0) } }
        return try seal(layer, key: new.wrapping, context: wrapContext(thread))
    }

    /// The length of a data key wrapped under the installation's key alone (no organisation's layer): an
    /// organisation's layer always makes it longer, so SQL finds such keys by length.
    static let singleLayerLength = overhead + 32

    /// `wrapped`, a data key under the installation's key alone, wrapped again with the layer of the organisation
    /// owning `field` (issue 29: a thread from before its organisation had a key); nil when no organisation with a
    /// loaded key owns the field or the key has its layer already.
    static func addingOrganisationLayer(_ wrapped: Data, for thread: ThreadID, field: CounsellingField,
                                        keys: DerivedKeys) throws(ThreadStoreError) -> Data? {
        guard let owner = keys.organisations.owner(of: field), keys.organisations.hasKey(for: owner) else {
            return nil
        }
        var layer = try open(wrapped, key: keys.wrapping, context: wrapContext(thread))
        defer { layer.withUnsafeMutableBytes { memset_s_portable($0) } }
        guard layer.count == 32 else { return nil }
        return try seal(try keys.organisations.innerLayer(layer, for: thread, field: field), key: keys.wrapping,
                        context: wrapContext(thread))
    }

    /// The organisation whose key seals `wrapped`'s inner layer; nil for one under the installation key alone.
    static func organisation(of wrapped: Data, for thread: ThreadID, keys: DerivedKeys) throws(ThreadStoreError)
        -> OrganisationID?
    {
        var layer = try open(wrapped, key: keys.wrapping, context: wrapContext(thread))
        defer { layer.withUnsafeMutableBytes { memset_s_portable($0) } }
        return OrganisationKeys.organisation(ofInnerLayer: layer)
    }

    // MARK: Key check

    private static let keyCheckPlaintext = Data("MailBridge ThreadStore key check".utf8)
    private static let keyCheckContext = SealContext(table: "store_meta", column: "key_check", threadID: "", rowID: "1")

    static func makeKeyCheck(keys: DerivedKeys) throws(ThreadStoreError) -> Data {
        try seal(keyCheckPlaintext, key: keys.wrapping, context: keyCheckContext)
    }

    static func verifyKeyCheck(_ sealed: Data, keys: DerivedKeys) -> Bool {
        (try? open(sealed, key: keys.wrapping, context: keyCheckContext)) == keyCheckPlaintext
    }
}
