// Security: the gateway's own keys (issue 20). Secret keys live in the GnuPG home; the store records which key
// is current, in its overlap, retired or revoked, and keeps each key's revocation certificate sealed under the
// master key. On PostgreSQL (issue 21) the nodes share the secret keys through a sealed shelf (SharedKeys): a key
// is on the shelf before the store records it, and every change to it (expiry, revocation) is put there again.
// Log lines name states and counts, never addresses; fingerprints of gateway keys are public (WKD).

public import Foundation
public import Logging
public import PGPShim
public import ThreadStore

/// Creates, rotates, revokes, extends and retires the counselling mailboxes' gateway keys.
///
/// ```swift
/// let lifecycle = GatewayKeyLifecycle(store: store, pgp: pgp, policy: GatewayKeyPolicy(configuration.keys),
///                                     logger: logger)
/// let keys = try await lifecycle.prepare(configuration.mailboxes.map(\.address))   // at start
/// let report = await lifecycle.check()                                                // periodically
/// ```
public struct GatewayKeyLifecycle: Sendable {
    /// The lifecycle records, on either engine.
    let ledger: any GatewayKeyStore
    let pgp: PGPService
    public let policy: GatewayKeyPolicy
    let logger: Logger
    let now: @Sendable () -> Date
    /// The secret keys the nodes of one PostgreSQL database share; nil on SQLite (one node).
    let shared: SharedKeys?

    public init(store: ThreadStore, pgp: PGPService, policy: GatewayKeyPolicy, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(ledger: ThreadStoreGatewayKeys(store), pgp: pgp, policy: policy, logger: logger, now: now)
    }

    /// The lifecycle on any engine; `shared`: the gateway key shelf of several nodes (PostgreSQL).
    public init(ledger: any GatewayKeyStore, pgp: PGPService, policy: GatewayKeyPolicy, logger: Logger,
                shared: SharedKeys? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.pgp = pgp
        self.policy = policy
        self.logger = logger
        self.shared = shared
        self.now = now
    }

    // MARK: Start

    /// Makes sure every address has a current gateway key recorded in the store, with its secret part in the
    /// keyring: a key from before issue 20 (in the keyring, not in the store) is recorded as current as it is
    /// (the next ``check()`` gives it an expiry); an address without any gets a new key. Several nodes: the keys
    /// other nodes made are imported from the shelf first, a key made here is on the shelf before the store records
    /// it, and the current and overlap keys this node holds are put on the shelf where it lacks them (a node
    /// provisioned by copying a GnuPG home, or keys from before the shelf). Returns the key sets.
    public func prepare(_ addresses: [EmailAddress]) async throws -> [String: MailboxKeySet] {
        try await shared?.pull()
        var sets: [String: MailboxKeySet] = [:]
        for address in addresses {
            let mailbox = address.canonical
            let records = try await ledger.gatewayKeys(mailbox: mailbox)
            if let keys = MailboxKeySet(records) {
                sets[mailbox] = try await requireSecretKey(keys)
                continue
            }
            let known = Set(records.map(\.fingerprint))
            let existing = try await GatewayKeys.ensure(for: [address], pgp: pgp, logger: logger,
                                                        expiresInSeconds: policy.lifetimeSeconds, excluding: known)
            guard let fingerprint = existing[mailbox] else { throw GatewayError("no gateway key for a mailbox") }
            let key = try await newKeyRecord(fingerprint, mailbox: mailbox)
            try await shared?.publish(fingerprint)
            do {
                try await ledger.registerGatewayKey(key)
            } catch {
                // Another node starting at the same time recorded its key first: that one is the mailbox's key.
                guard shared != nil, let theirs = MailboxKeySet(try await ledger.gatewayKeys(mailbox: mailbox)) else {
                    throw error
                }
                try await shared?.pull()
                sets[mailbox] = try await requireSecretKey(theirs)
                continue
            }
            let again = try await ledger.gatewayKeys(mailbox: mailbox)
            guard let keys = MailboxKeySet(again) else { throw GatewayError("no gateway key for a mailbox") }
            sets[mailbox] = keys
        }
        if let shared {
            var held: [KeyFingerprint] = []
            for keys in sets.values {
                for fingerprint in [keys.current] + keys.overlap.sorted(by: { $0.hex < $1.hex })
                where try await pgp.key(fingerprint, secret: true) != nil {
                    held.append(fingerprint)
                }
            }
            try await shared.publishMissing(held)
        }
        return sets
    }

    /// `keys`, once its current key's secret part is in the keyring.
    private func requireSecretKey(_ keys: MailboxKeySet) async throws -> MailboxKeySet {
        guard try await pgp.key(keys.current, secret: true) != nil else {
            throw GatewayError(shared == nil
                ? "the current gateway key of a mailbox has no secret key in the GnuPG home "
                    + "(restore the GnuPG home from the backup; after `mailbridge organisations shred`, remove the "
                    + "organisation's [[organisation]] and [[mailbox]] tables from the configuration)"
                : "the current gateway key of a mailbox is neither in the GnuPG home nor on the database's key "
                    + "shelf (start the node that made it once with this version, or copy its GnuPG home)")
        }
        return keys
    }

    /// Imports the gateway keys other nodes made or changed since the last call (several nodes; nothing on
    /// SQLite). Failures are logged and tried again at the next call.
    public func pullShared() async {
        guard let shared else { return }
        do {
            try await shared.pull()
        } catch {
            logger.warning("gateway keys from the other nodes not imported", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// The key sets of `addresses` as the store records them now (the daemon's periodic refresh).
    public func recordedKeySets(_ addresses: [EmailAddress]) async throws -> [String: MailboxKeySet] {
        let records = try await ledger.gatewayKeys()
        var sets: [String: MailboxKeySet] = [:]
        for address in addresses {
            let mailbox = address.canonical
            if let keys = MailboxKeySet(records.filter { $0.mailbox == mailbox }) { sets[mailbox] = keys }
        }
        return sets
    }

    // MARK: Rotate and revoke

    /// `mailbridge keys rotate`: a new key becomes current at once; the one before decrypts until the overlap
    /// ends (``GatewayKeyPolicy/overlap``). The old key's published expiry is moved to now (gpg still decrypts with
    /// an expired key), and WKD serves it so: a client that refreshes from WKD stops encrypting to it, whichever
    /// key of an address its program would otherwise pick (rnp takes the first it holds). Clients that do not
    /// refresh keep their old copy, which decrypts until the overlap ends. Returns the new key's fingerprint.
    public func rotate(_ address: EmailAddress) async throws -> KeyFingerprint {
        let mailbox = address.canonical
        guard let old = try await currentRecord(mailbox)?.fingerprint else {
            throw GatewayError("the mailbox has no current key")
        }
        let fingerprint = try await generate(for: address)
        let key = try await newKeyRecord(fingerprint, mailbox: mailbox)
        let until = now().addingTimeInterval(policy.overlap)
        try await ledger.rotateGatewayKey(key, overlapUntil: until, via: .commandLine)
        if try await expireReplaced(old) { try await shareChange(old) }
        logger.notice("gateway key rotated", metadata: ["overlap-days": "\(Int(policy.overlap / 86_400))"])
        return fingerprint
    }

    /// Moves the expiry of a replaced key (overlap or retired) to now, unless it is expired or revoked already;
    /// true if it did.
    private func expireReplaced(_ fingerprint: KeyFingerprint) async throws -> Bool {
        guard let info = try await pgp.key(fingerprint), !info.isExpired, !info.isRevoked else { return false }
        // Set already (it expires within the hour): a second self-signature would change nothing.
        if let expires = info.expiresAt, TimeInterval(expires) <= Date().timeIntervalSince1970 + 3600 { return false }
        try await pgp.setExpiry(fingerprint, expiresInSeconds: 1)
        return true
    }

    /// Puts this node's changed copy of `fingerprint` (a new expiry or a revocation) on the shelf, if this node
    /// holds its secret part.
    private func shareChange(_ fingerprint: KeyFingerprint) async throws {
        guard let shared, try await pgp.key(fingerprint, secret: true) != nil else { return }
        try await shared.publish(fingerprint)
    }

    /// `mailbridge keys revoke`: revokes `fingerprint` (nil: the current key) with its kept revocation
    /// certificate; a revoked current key is replaced by a new key at once. The store is written first (from
    /// then on nothing decrypts with the key or signs with it); the revocation is then imported into the keyring,
    /// and ``check()`` imports it again should that step not have happened. Returns the revoked key and its
    /// replacement (nil when an overlap or retired key was revoked).
    public func revoke(_ address: EmailAddress, fingerprint: KeyFingerprint?, reason: String) async throws
        -> (revoked: KeyFingerprint, replacement: KeyFingerprint?)
    {
        let mailbox = address.canonical
        let records = try await ledger.gatewayKeys(mailbox: mailbox)
        guard let target = records.first(where: { record in
            fingerprint.map { record.fingerprint == $0 } ?? (record.state == .current)
        }) else {
            throw GatewayError("no such gateway key of this mailbox")
        }
        let revoked = target.fingerprint
        guard target.state != .revoked else { throw GatewayError("the key is revoked already") }
        guard try await revocationCertificate(revoked) != nil else {
            throw GatewayError("no revocation certificate is kept for this key")
        }
        var replacement: NewGatewayKey?
        var replacementKey: KeyFingerprint?
        if target.state == .current {
            let fresh = try await generate(for: address)
            replacement = try await newKeyRecord(fresh, mailbox: mailbox)
            replacementKey = fresh
        }
        try await ledger.revokeGatewayKey(revoked, reason: reason, replacement: replacement, via: .commandLine)
        try await publishRevocation(revoked)
        try await shareChange(revoked)
        logger.notice("gateway key revoked", metadata: ["replaced": "\(replacementKey != nil)"])
        return (revoked, replacementKey)
    }

    /// The revocation certificate of `fingerprint` (armored): the sealed copy in the store, else the one gpg
    /// stored in the GnuPG home when it made the key. Nil if neither exists.
    public func revocationCertificate(_ fingerprint: KeyFingerprint) async throws -> [UInt8]? {
        if let kept = try await ledger.gatewayKeyRevocationCertificate(fingerprint) {
            return Array(kept)
        }
        return try await pgp.storedRevocationCertificate(fingerprint)
    }

    // MARK: Periodic check

    /// One pass of the daemon's check: overlaps that ended are retired (audited), current keys close to their
    /// expiry (or without one) are extended, revocations the store records are in the keyring, and keys close to
    /// their expiry are reported. Failures are logged and tried again at the next pass.
    @discardableResult
    public func check() async -> GatewayKeyCheckReport {
        var report = GatewayKeyCheckReport()
        let time = now()
        do {
            let retired = try await ledger.retireGatewayKeys(now: time)
            report.retired = retired.count
            if !retired.isEmpty { logger.notice("gateway keys retired", metadata: ["count": "\(retired.count)"]) }
            for record in try await ledger.gatewayKeys() {
                let fingerprint = record.fingerprint
                switch record.state {
                case .current:
                    try await checkCurrent(fingerprint, record, time: time, report: &report)
                case .revoked:
                    if try await pgp.key(fingerprint)?.isRevoked == false {
                        try await publishRevocation(fingerprint)
                        report.revocationsImported += 1
                    }
                case .overlap, .retired:
                    // A rotation that stopped between the store write and the expiry change.
                    if try await expireReplaced(fingerprint), record.state == .overlap {
                        try await shareChange(fingerprint)
                    }
                }
            }
        } catch {
            report.failed = true
            logger.error("gateway key check failed", metadata: ["error": "\(type(of: error))"])
        }
        if report.expiringSoon > 0 {
            logger.warning("gateway keys expire within 30 days and could not be extended",
                           metadata: ["count": "\(report.expiringSoon)"])
        }
        return report
    }

    private func checkCurrent(_ fingerprint: KeyFingerprint, _ record: GatewayKeyRecord, time: Date,
                              report: inout GatewayKeyCheckReport) async throws {
        guard let info = try await pgp.key(fingerprint) else { return }
        var expiresAt = info.expiresAt.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        if !info.isRevoked, policy.needsExtension(expiresAt: expiresAt, now: time) {
            do {
                // gpg counts from its own (real) clock; the target is one lifetime from `time`.
                let seconds = time.addingTimeInterval(policy.lifetime).timeIntervalSinceNow
                try await pgp.setExpiry(fingerprint, expiresInSeconds: UInt(max(86_400, seconds.rounded())))
                let extended = try await pgp.key(fingerprint)?.expiresAt
                    .map { Date(timeIntervalSince1970: TimeInterval($0)) }
                if let extended {
                    expiresAt = extended
                    // On the shelf before the store records it: the other nodes' refresh then finds it.
                    try await shareChange(fingerprint)
                    try await ledger.recordGatewayKeyExpiry(fingerprint, expiresAt: extended, now: time)
                    report.extended += 1
                    logger.notice("gateway key expiry extended",
                                  metadata: ["days": "\(Int(extended.timeIntervalSince(time) / 86_400))"])
                }
            } catch {
                logger.error("gateway key expiry not extended", metadata: ["error": "\(type(of: error))"])
            }
        }
        if let expiresAt {
            let seconds = expiresAt.timeIntervalSince(time)
            report.soonestExpiry = min(report.soonestExpiry ?? seconds, seconds)
            if policy.warns(expiresAt: expiresAt, now: time) { report.expiringSoon += 1 }
        }
    }

    // MARK: Status

    /// `mailbridge keys status`: every recorded key of every mailbox, with what the keyring says about it.
    public func status() async throws -> [GatewayKeyStatus] {
        var result: [GatewayKeyStatus] = []
        let time = now()
        for record in try await ledger.gatewayKeys() {
            let info = try await pgp.key(record.fingerprint)
            let expiresAt = info?.expiresAt.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? record.expiresAt
            result.append(GatewayKeyStatus(
                record: record, expiresAt: expiresAt, inKeyring: info != nil,
                revokedInKeyring: info?.isRevoked ?? false,
                expiringSoon: record.state == .current && policy.warns(expiresAt: expiresAt, now: time)))
        }
        return result
    }

    // MARK: Helpers

    private func currentRecord(_ mailbox: String) async throws -> GatewayKeyRecord? {
        try await ledger.gatewayKeys(mailbox: mailbox).first { $0.state == .current }
    }

    /// A new key for `address`, on the shelf (several nodes) before the store records it.
    private func generate(for address: EmailAddress) async throws -> KeyFingerprint {
        let fingerprint = try await pgp.generateKey(userID: "MailBridge <\(address.unredactedDescription)>",
                                                    expiresInSeconds: policy.lifetimeSeconds)
        logger.notice("generated a gateway key for a counselling address")
        try await shared?.publish(fingerprint)
        return fingerprint
    }

    /// What the store records of a key in the keyring: its times, and the revocation certificate gpg made.
    private func newKeyRecord(_ fingerprint: KeyFingerprint, mailbox: String) async throws -> NewGatewayKey {
        guard let info = try await pgp.key(fingerprint, secret: true) else {
            throw GatewayError("a gateway key is missing from the GnuPG home")
        }
        let certificate = try await pgp.storedRevocationCertificate(fingerprint)
        if certificate == nil { logger.warning("no revocation certificate found for a gateway key") }
        return NewGatewayKey(
            fingerprint: fingerprint, mailbox: mailbox,
            createdAt: info.createdAt.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? now(),
            expiresAt: info.expiresAt.map { Date(timeIntervalSince1970: TimeInterval($0)) },
            revocationCertificate: certificate.map { Data($0) })
    }

    private func publishRevocation(_ fingerprint: KeyFingerprint) async throws {
        guard let certificate = try await revocationCertificate(fingerprint) else {
            throw GatewayError("no revocation certificate is kept for a revoked key")
        }
        try await pgp.importRevocation(certificate, for: fingerprint)
    }
}

/// What one ``GatewayKeyLifecycle/check()`` pass did and found.
public struct GatewayKeyCheckReport: Sendable, Hashable {
    public var retired = 0
    public var extended = 0
    public var revocationsImported = 0
    /// Current keys expiring within 30 days (after any extension: only keys that could not be extended).
    public var expiringSoon = 0
    /// Seconds until the soonest expiry of a current key; nil when none expires.
    public var soonestExpiry: TimeInterval?
    public var failed = false

    public init() {}
}

/// One line of `mailbridge keys status`.
public struct GatewayKeyStatus: Sendable, Hashable {
    public var record: GatewayKeyRecord
    /// The expiry the keyring gives the key now (nil: none).
    public var expiresAt: Date?
    public var inKeyring: Bool
    public var revokedInKeyring: Bool
    /// A current key within 30 days of its expiry.
    public var expiringSoon: Bool
}

extension GatewayKeyLifecycle {
    /// The recorded expiry of every current key (fingerprint → date), to notice an extension.
    public func currentExpiries() async throws -> [KeyFingerprint: Date] {
        var expiries: [KeyFingerprint: Date] = [:]
        for record in try await ledger.gatewayKeys() where record.state == .current {
            expiries[record.fingerprint] = record.expiresAt ?? .distantFuture
        }
        return expiries
    }
}
