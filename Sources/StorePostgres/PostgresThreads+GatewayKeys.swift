// Security: the gateway keys' lifecycle records on PostgreSQL (issue 21), as WriteTransaction+GatewayKeys.swift
// keeps them on SQLite. Fingerprints are public; the revocation certificate and the reason are sealed by
// StoreSecrets (bound to table, column and fingerprint) before PostgreSQL sees them.

public import Foundation
import Logging
public import MailValues
import PostgresNIO
public import ThreadStore

extension PostgresThreads: GatewayKeyStore {
    static let gatewayKeySelect = """
        SELECT fingerprint, mailbox, state, created_at, expires_at, overlap_until, retired_at, revoked_at,
            sealed_revocation IS NOT NULL FROM gateway_key
        """

    public func gatewayKeys(mailbox: String?) async throws -> [GatewayKeyRecord] {
        try await database.read { connection in try await rows(connection).gatewayKeys(mailbox: mailbox) }
    }

    public func registerGatewayKey(_ key: NewGatewayKey) async throws {
        let secrets = self.secrets
        try await gatewayKeyWrite { rows in try await rows.insertCurrentGatewayKey(key, secrets: secrets) }
    }

    public func rotateGatewayKey(_ key: NewGatewayKey, overlapUntil: Date, via channel: AuditChannel?) async throws {
        let secrets = self.secrets
        try await gatewayKeyWrite { rows in
            try await rows.connection.query("""
                UPDATE gateway_key SET state = \(GatewayKeyState.overlap.rawValue),
                    overlap_until = \(StoreTime.milliseconds(overlapUntil))
                WHERE mailbox = \(key.mailbox) AND state = \(GatewayKeyState.current.rawValue)
                """, logger: rows.logger)
            try await rows.insertCurrentGatewayKey(key, secrets: secrets)
            try await rows.auditAccess(.gatewayKeyRotated, actor: nil, channel: channel, thread: nil,
                                       itemID: key.fingerprint.hex)
        }
    }

    public func revokeGatewayKey(_ fingerprint: KeyFingerprint, reason: String, replacement: NewGatewayKey?,
                                 via channel: AuditChannel?) async throws {
        let secrets = self.secrets
        try await gatewayKeyWrite { rows in
            guard let record = try await rows.gatewayKeys(fingerprint: fingerprint).first, record.state != .revoked,
                reason.utf8.count <= 1000
            else { throw ThreadStoreError(.invalidValue) }
            let sealedReason = try secrets.sealGatewayKeyValue(Data(reason.utf8), of: fingerprint, column: "reason")
            try await rows.connection.query("""
                UPDATE gateway_key SET state = \(GatewayKeyState.revoked.rawValue),
                    revoked_at = \(StoreTime.milliseconds(rows.now)), overlap_until = NULL, sealed_reason = \(sealedReason)
                WHERE fingerprint = \(fingerprint.hex)
                """, logger: rows.logger)
            try await rows.auditAccess(.gatewayKeyRevoked, actor: nil, channel: channel, thread: nil,
                                       itemID: fingerprint.hex)
            if let replacement {
                try await rows.insertCurrentGatewayKey(replacement, secrets: secrets)
                try await rows.auditAccess(.gatewayKeyRotated, actor: nil, channel: channel, thread: nil,
                                           itemID: replacement.fingerprint.hex)
            } else if record.state == .current {
                throw ThreadStoreError(.invalidValue)
            }
        }
    }

    public func retireGatewayKeys(now time: Date) async throws -> [GatewayKeyRecord] {
        try await gatewayKeyWrite { rows in
            let due = try await rows.gatewayKeys(mailbox: nil).filter { key in
                key.state == .overlap && (key.overlapUntil.map { $0 <= time } ?? true)
            }
            for key in due {
                try await rows.connection.query("""
                    UPDATE gateway_key SET state = \(GatewayKeyState.retired.rawValue),
                        retired_at = \(StoreTime.milliseconds(time))
                    WHERE fingerprint = \(key.fingerprint.hex)
                    """, logger: rows.logger)
                try await rows.audit(.gatewayKeyRetired, thread: nil, itemID: key.fingerprint.hex)
            }
            return due
        }
    }

    public func recordGatewayKeyExpiry(_ fingerprint: KeyFingerprint, expiresAt: Date, now time: Date) async throws {
        try await gatewayKeyWrite { rows in
            let changed = try await PostgresAccountRows.changed(rows.connection.query("""
                UPDATE gateway_key SET expires_at = \(StoreTime.milliseconds(expiresAt))
                WHERE fingerprint = \(fingerprint.hex) RETURNING fingerprint
                """, logger: rows.logger))
            guard changed > 0 else { throw ThreadStoreError(.invalidValue) }
            try await rows.audit(.gatewayKeyExpiryExtended, thread: nil, itemID: fingerprint.hex,
                                 count: Int(expiresAt.timeIntervalSince(time) / 86_400))
        }
    }

    public func gatewayKeyRevocationCertificate(_ fingerprint: KeyFingerprint) async throws -> Data? {
        let (secrets, logger) = (self.secrets, self.logger)
        let sealed = try await database.read { connection -> Data? in
            let found = try await connection.query(
                "SELECT sealed_revocation FROM gateway_key WHERE fingerprint = \(fingerprint.hex)", logger: logger)
            for try await value in found.decode(Data?.self) { return value }
            return nil
        }
        return try sealed.map { try secrets.openGatewayKeyValue($0, of: fingerprint, column: "revocation") }
    }

    /// A write transaction over the gateway key rows; a concurrent node's current key for the same mailbox (the
    /// unique index) is ``ThreadStoreError/invalidValue``, as the check before the insert reports it.
    private func gatewayKeyWrite<T: Sendable>(_ body: @escaping @Sendable (PostgresThreadRows) async throws -> T)
        async throws -> T
    {
        do {
            return try await database.write { connection in try await body(rows(connection)) }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ThreadStoreError(.invalidValue)
        }
    }
}

extension PostgresThreadRows {
    func gatewayKeys(mailbox: String?) async throws -> [GatewayKeyRecord] {
        let select = PostgresThreads.gatewayKeySelect
        let found = if let mailbox {
            try await connection.query(PostgresQuery(
                unsafeSQL: select + " WHERE mailbox = $1 ORDER BY created_at, fingerprint",
                binds: PostgresThreadRows.binds(mailbox)), logger: logger)
        } else {
            try await connection.query(PostgresQuery(
                unsafeSQL: select + " ORDER BY mailbox, created_at, fingerprint"), logger: logger)
        }
        return try await Self.gatewayKeyRecords(found)
    }

    func gatewayKeys(fingerprint: KeyFingerprint) async throws -> [GatewayKeyRecord] {
        try await Self.gatewayKeyRecords(connection.query(PostgresQuery(
            unsafeSQL: PostgresThreads.gatewayKeySelect + " WHERE fingerprint = $1",
            binds: PostgresThreadRows.binds(fingerprint.hex)), logger: logger))
    }

    static func gatewayKeyRecords(_ rows: PostgresRowSequence) async throws -> [GatewayKeyRecord] {
        var records: [GatewayKeyRecord] = []
        for try await (fingerprint, mailbox, state, created, expires, overlap, retired, revoked, hasRevocation)
            in rows.decode((String, String, Int, Int64, Int64?, Int64?, Int64?, Int64?, Bool).self)
        {
            if let record = try GatewayKeyRecord.stored(
                fingerprint: fingerprint, mailbox: mailbox, state: state, createdAt: created, expiresAt: expires,
                overlapUntil: overlap, retiredAt: retired, revokedAt: revoked,
                hasRevocationCertificate: hasRevocation)
            {
                records.append(record)
            }
        }
        return records
    }

    /// `insertCurrent` of the SQLite engine: the same checks, then the row.
    func insertCurrentGatewayKey(_ key: NewGatewayKey, secrets: StoreSecrets) async throws {
        guard (3...320).contains(key.mailbox.utf8.count), (key.revocationCertificate?.count ?? 0) <= 64 * 1024,
            try await gatewayKeys(fingerprint: key.fingerprint).isEmpty,
            try await !gatewayKeys(mailbox: key.mailbox).contains(where: { $0.state == .current })
        else { throw ThreadStoreError(.invalidValue) }
        let sealed = try key.revocationCertificate.map {
            try secrets.sealGatewayKeyValue($0, of: key.fingerprint, column: "revocation")
        }
        try await connection.query("""
            INSERT INTO gateway_key (fingerprint, mailbox, state, created_at, expires_at, sealed_revocation)
            VALUES (\(key.fingerprint.hex), \(key.mailbox), \(GatewayKeyState.current.rawValue),
                    \(StoreTime.milliseconds(key.createdAt)), \(key.expiresAt.map(StoreTime.milliseconds)), \(sealed))
            """, logger: logger)
    }
}
