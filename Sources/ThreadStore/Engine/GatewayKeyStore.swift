// Security: the gateway keys' lifecycle records on any engine (issue 20, issue 21). Fingerprints are public; the
// revocation certificate and the operator's reason are sealed under a key derived from the master key, bound to
// the table, column and fingerprint. Every change of state is audited with the key's fingerprint.

public import Foundation
public import MailValues

/// Which gateway key of a mailbox is current, in its overlap, retired or revoked. ``ThreadStoreGatewayKeys`` runs
/// the transaction methods of `WriteTransaction+GatewayKeys.swift` on SQLite; `PostgresThreads` (StorePostgres)
/// the same rules on PostgreSQL, where the unique index on a mailbox's current key makes two nodes that register a
/// first key at once end with one.
public protocol GatewayKeyStore: Sendable {
    /// ``ReadTransaction/gatewayKeys(mailbox:)``.
    func gatewayKeys(mailbox: String?) async throws -> [GatewayKeyRecord]
    /// ``WriteTransaction/registerGatewayKey(_:)``.
    /// - Throws: ``ThreadStoreError/invalidValue`` if the mailbox has a current key already or the key is known.
    func registerGatewayKey(_ key: NewGatewayKey) async throws
    /// ``WriteTransaction/rotateGatewayKey(_:overlapUntil:)``.
    func rotateGatewayKey(_ key: NewGatewayKey, overlapUntil: Date, via channel: AuditChannel?) async throws
    /// ``WriteTransaction/revokeGatewayKey(_:reason:replacement:)``.
    func revokeGatewayKey(_ fingerprint: KeyFingerprint, reason: String, replacement: NewGatewayKey?,
                          via channel: AuditChannel?) async throws
    /// ``WriteTransaction/retireGatewayKeys(now:)``.
    func retireGatewayKeys(now: Date) async throws -> [GatewayKeyRecord]
    /// ``WriteTransaction/recordGatewayKeyExpiry(_:expiresAt:now:)``.
    func recordGatewayKeyExpiry(_ fingerprint: KeyFingerprint, expiresAt: Date, now: Date) async throws
    /// ``ReadTransaction/gatewayKeyRevocationCertificate(_:)``.
    func gatewayKeyRevocationCertificate(_ fingerprint: KeyFingerprint) async throws -> Data?
}

extension GatewayKeyStore {
    /// Every mailbox's keys.
    public func gatewayKeys() async throws -> [GatewayKeyRecord] { try await gatewayKeys(mailbox: nil) }
}

/// ``GatewayKeyStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreGatewayKeys: GatewayKeyStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func gatewayKeys(mailbox: String?) async throws -> [GatewayKeyRecord] {
        try await store.read { tx in try tx.gatewayKeys(mailbox: mailbox) }
    }

    public func registerGatewayKey(_ key: NewGatewayKey) async throws {
        try await store.write { tx in try tx.registerGatewayKey(key) }
    }

    public func rotateGatewayKey(_ key: NewGatewayKey, overlapUntil: Date, via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in try tx.rotateGatewayKey(key, overlapUntil: overlapUntil) }
    }

    public func revokeGatewayKey(_ fingerprint: KeyFingerprint, reason: String, replacement: NewGatewayKey?,
                                 via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in
            try tx.revokeGatewayKey(fingerprint, reason: reason, replacement: replacement)
        }
    }

    public func retireGatewayKeys(now: Date) async throws -> [GatewayKeyRecord] {
        try await store.write { tx in try tx.retireGatewayKeys(now: now) }
    }

    public func recordGatewayKeyExpiry(_ fingerprint: KeyFingerprint, expiresAt: Date, now: Date) async throws {
        try await store.write { tx in try tx.recordGatewayKeyExpiry(fingerprint, expiresAt: expiresAt, now: now) }
    }

    public func gatewayKeyRevocationCertificate(_ fingerprint: KeyFingerprint) async throws -> Data? {
        try await store.read { tx in try tx.gatewayKeyRevocationCertificate(fingerprint) }
    }
}

extension StoreSecrets {
    /// `gateway_key.sealed_revocation` or `sealed_reason` (`column`: "revocation" or "reason") of `fingerprint`.
    public func sealGatewayKeyValue(_ value: Data, of fingerprint: KeyFingerprint, column: String)
        throws(ThreadStoreError) -> Data
    {
        try Sealing.seal(value, key: keys.gatewayKeys, context: GatewayKeySealing.context(fingerprint, column))
    }

    /// Opens a value sealed by ``sealGatewayKeyValue(_:of:column:)``.
    public func openGatewayKeyValue(_ sealed: Data, of fingerprint: KeyFingerprint, column: String)
        throws(ThreadStoreError) -> Data
    {
        try Sealing.open(sealed, key: keys.gatewayKeys, context: GatewayKeySealing.context(fingerprint, column))
    }
}

extension GatewayKeyRecord {
    /// A record from its stored columns; nil for a state this version does not know. A fingerprint not exactly as
    /// the store writes it (upper-case hex) is ``ThreadStoreError/databaseCorrupt``.
    public static func stored(fingerprint: String, mailbox: String, state: Int, createdAt: Int64, expiresAt: Int64?,
                              overlapUntil: Int64?, retiredAt: Int64?, revokedAt: Int64?,
                              hasRevocationCertificate: Bool) throws(ThreadStoreError) -> GatewayKeyRecord? {
        guard let state = GatewayKeyState(rawValue: state) else { return nil }
        guard let parsed = try? KeyFingerprint(fingerprint), parsed.hex == fingerprint else {
            throw ThreadStoreError(.databaseCorrupt)
        }
        return GatewayKeyRecord(
            fingerprint: parsed, mailbox: mailbox, state: state, createdAt: Date(storeMilliseconds: createdAt),
            expiresAt: expiresAt.map(Date.init(storeMilliseconds:)),
            overlapUntil: overlapUntil.map(Date.init(storeMilliseconds:)),
            retiredAt: retiredAt.map(Date.init(storeMilliseconds:)), revokedAt: revokedAt.map(Date.init(storeMilliseconds:)),
            hasRevocationCertificate: hasRevocationCertificate)
    }
}
