// Security: records the gateway keys' lifecycle (issue 20). The revocation certificate and the operator's reason
// are sealed with ChaCha20-Poly1305 under a key derived from the master key (Sealing.swift, `gatewayKeys`), bound
// to the table, column and fingerprint. Every change of state is audited with the key's (public) fingerprint.

public import Foundation
import GRDB
public import MailValues

extension WriteTransaction {
    /// Records `key` as its mailbox's current key. Throws ``ThreadStoreError/invalidValue`` if the mailbox has a
    /// current key already (use ``rotateGatewayKey(_:overlapUntil:)``) or the key is known.
    public func registerGatewayKey(_ key: NewGatewayKey) throws {
        try insertCurrent(key)
    }

    /// Makes `key` its mailbox's current key; the key current until now decrypts until `overlapUntil`, then
    /// ``retireGatewayKeys(now:)`` retires it. Audited as ``AuditEvent/gatewayKeyRotated`` (the new key).
    public func rotateGatewayKey(_ key: NewGatewayKey, overlapUntil: Date) throws {
        try db.cachedStatement(sql: """
            UPDATE gateway_key SET state = ?, overlap_until = ? WHERE mailbox = ? AND state = ?
            """).execute(arguments: [GatewayKeyState.overlap.rawValue, overlapUntil.storeMilliseconds, key.mailbox,
                                     GatewayKeyState.current.rawValue])
        try insertCurrent(key)
        try AuditLog.append(db, at: now, event: .gatewayKeyRotated, itemID: key.fingerprint.hex,
                            channel: context.auditChannel)
    }

    /// Marks `fingerprint` revoked (with the operator's `reason`, sealed) and makes `replacement` current when
    /// the revoked key was. Audited as ``AuditEvent/gatewayKeyRevoked`` (and ``AuditEvent/gatewayKeyRotated``).
    public func revokeGatewayKey(_ fingerprint: KeyFingerprint, reason: String, replacement: NewGatewayKey?) throws {
        guard let record = try reader.gatewayKey(fingerprint), record.state != .revoked, reason.utf8.count <= 1000
        else { throw ThreadStoreError(.invalidValue) }
        let sealedReason = try Sealing.sealString(reason, key: context.keys.gatewayKeys,
                                                  context: GatewayKeySealing.context(fingerprint, "reason"))
        try db.cachedStatement(sql: """
            UPDATE gateway_key SET state = ?, revoked_at = ?, overlap_until = NULL, sealed_reason = ?
            WHERE fingerprint = ?
            """).execute(arguments: [GatewayKeyState.revoked.rawValue, now.storeMilliseconds, sealedReason,
                                     fingerprint.hex])
        try AuditLog.append(db, at: now, event: .gatewayKeyRevoked, itemID: fingerprint.hex,
                            channel: context.auditChannel)
        if let replacement {
            try insertCurrent(replacement)
            try AuditLog.append(db, at: now, event: .gatewayKeyRotated, itemID: replacement.fingerprint.hex,
                                channel: context.auditChannel)
        } else if record.state == .current {
            throw ThreadStoreError(.invalidValue)
        }
    }

    /// Retires every overlap key whose overlap ended at or before `now`, each audited as
    /// ``AuditEvent/gatewayKeyRetired``. Returns the keys retired.
    @discardableResult
    public func retireGatewayKeys(now time: Date) throws -> [GatewayKeyRecord] {
        let due = try reader.gatewayKeys().filter { key in
            key.state == .overlap && (key.overlapUntil.map { $0 <= time } ?? true)
        }
        for key in due {
            try db.cachedStatement(sql: "UPDATE gateway_key SET state = ?, retired_at = ? WHERE fingerprint = ?")
                .execute(arguments: [GatewayKeyState.retired.rawValue, time.storeMilliseconds, key.fingerprint.hex])
            try AuditLog.append(db, at: now, event: .gatewayKeyRetired, itemID: key.fingerprint.hex)
        }
        return due
    }

    /// Records that the keyring now gives `fingerprint` the expiry `expiresAt`; audited as
    /// ``AuditEvent/gatewayKeyExpiryExtended`` with the days from `time`.
    public func recordGatewayKeyExpiry(_ fingerprint: KeyFingerprint, expiresAt: Date, now time: Date) throws {
        try db.cachedStatement(sql: "UPDATE gateway_key SET expires_at = ? WHERE fingerprint = ?")
            .execute(arguments: [expiresAt.storeMilliseconds, fingerprint.hex])
        guard db.changesCount > 0 else { throw ThreadStoreError(.invalidValue) }
        try AuditLog.append(db, at: now, event: .gatewayKeyExpiryExtended, itemID: fingerprint.hex,
                            count: Int(expiresAt.timeIntervalSince(time) / 86_400))
    }

    /// Keeps `certificate` (sealed) as the revocation certificate of `fingerprint`, replacing any before.
    public func storeGatewayKeyRevocation(_ fingerprint: KeyFingerprint, certificate: Data) throws {
        try db.cachedStatement(sql: "UPDATE gateway_key SET sealed_revocation = ? WHERE fingerprint = ?")
            .execute(arguments: [try sealRevocation(fingerprint, certificate), fingerprint.hex])
        guard db.changesCount > 0 else { throw ThreadStoreError(.invalidValue) }
    }

    private func insertCurrent(_ key: NewGatewayKey) throws {
        guard (3...320).contains(key.mailbox.utf8.count),
            (key.revocationCertificate?.count ?? 0) <= 64 * 1024,
            try reader.gatewayKey(key.fingerprint) == nil,
            try !reader.gatewayKeys(mailbox: key.mailbox).contains(where: { $0.state == .current })
        else { throw ThreadStoreError(.invalidValue) }
        let sealed = try key.revocationCertificate.map { try sealRevocation(key.fingerprint, $0) }
        try db.cachedStatement(sql: """
            INSERT INTO gateway_key (fingerprint, mailbox, state, created_at, expires_at, sealed_revocation)
            VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [key.fingerprint.hex, key.mailbox, GatewayKeyState.current.rawValue,
                                     key.createdAt.storeMilliseconds, key.expiresAt?.storeMilliseconds, sealed])
    }

    private func sealRevocation(_ fingerprint: KeyFingerprint, _ certificate: Data) throws -> Data {
        try Sealing.seal(certificate, key: context.keys.gatewayKeys,
                         context: GatewayKeySealing.context(fingerprint, "revocation"))
    }
}

extension ReadTransaction {
    /// The gateway keys of `mailbox` (canonical address), or of every mailbox when nil; oldest first.
    public func gatewayKeys(mailbox: String? = nil) throws -> [GatewayKeyRecord] {
        let rows = if let mailbox {
            try Row.fetchAll(db, sql: "\(GatewayKeySealing.select) WHERE mailbox = ? ORDER BY created_at, fingerprint",
                             arguments: [mailbox])
        } else {
            try Row.fetchAll(db, sql: "\(GatewayKeySealing.select) ORDER BY mailbox, created_at, fingerprint")
        }
        return try rows.compactMap(GatewayKeySealing.record)
    }

    /// The gateway key with this fingerprint, if the store records it.
    public func gatewayKey(_ fingerprint: KeyFingerprint) throws -> GatewayKeyRecord? {
        try Row.fetchOne(db, sql: "\(GatewayKeySealing.select) WHERE fingerprint = ?", arguments: [fingerprint.hex])
            .flatMap(GatewayKeySealing.record)
    }

    /// The revocation certificate kept for `fingerprint`, unsealed; nil if none is kept.
    public func gatewayKeyRevocationCertificate(_ fingerprint: KeyFingerprint) throws -> Data? {
        guard let sealed = try Data.fetchOne(db, sql: "SELECT sealed_revocation FROM gateway_key WHERE fingerprint = ?",
                                             arguments: [fingerprint.hex])
        else { return nil }
        return try Sealing.open(sealed, key: context.keys.gatewayKeys,
                                context: GatewayKeySealing.context(fingerprint, "revocation"))
    }

    /// The operator's reason for revoking `fingerprint`, unsealed; nil if it was not revoked.
    public func gatewayKeyRevocationReason(_ fingerprint: KeyFingerprint) throws -> String? {
        guard let sealed = try Data.fetchOne(db, sql: "SELECT sealed_reason FROM gateway_key WHERE fingerprint = ?",
                                             arguments: [fingerprint.hex])
        else { return nil }
        return try Sealing.openString(sealed, key: context.keys.gatewayKeys,
                                      context: GatewayKeySealing.context(fingerprint, "reason"))
    }
}

enum GatewayKeySealing {
    static let select = """
        SELECT fingerprint, mailbox, state, created_at, expires_at, overlap_until, retired_at, revoked_at,
            sealed_revocation IS NOT NULL AS has_revocation FROM gateway_key
        """

    /// Binds a sealed column to its row: the fingerprint as stored (upper-case hex).
    static func context(_ fingerprint: KeyFingerprint, _ column: String) -> SealContext {
        SealContext(table: "gateway_key", column: "sealed_\(column)", threadID: "", rowID: fingerprint.hex)
    }

    /// The fingerprint column of `row`, which must hold a fingerprint exactly as the store writes it (upper-case
    /// hex, 40 or 64 digits); anything else is ``ThreadStoreError/databaseCorrupt``.
    static func fingerprint(_ row: Row) throws -> KeyFingerprint {
        guard let text = String.fromDatabaseValue(row["fingerprint"]), let fingerprint = try? KeyFingerprint(text),
            fingerprint.hex == text
        else { throw ThreadStoreError(.databaseCorrupt) }
        return fingerprint
    }

    /// The record of `row`; nil for a state this version does not know. A fingerprint that does not parse is
    /// ``ThreadStoreError/databaseCorrupt``.
    static func record(_ row: Row) throws -> GatewayKeyRecord? {
        guard let fingerprint = String.fromDatabaseValue(row["fingerprint"]) else {
            throw ThreadStoreError(.databaseCorrupt)
        }
        return try GatewayKeyRecord.stored(
            fingerprint: fingerprint, mailbox: row["mailbox"], state: row["state"], createdAt: row["created_at"],
            expiresAt: row["expires_at"], overlapUntil: row["overlap_until"], retiredAt: row["retired_at"],
            revokedAt: row["revoked_at"], hasRevocationCertificate: row["has_revocation"])
    }
}
