// Security: the web inbox's shared state on PostgreSQL, for several gateway nodes (issue 21). PostgreSQL sees what
// SQLite sees: bcrypt hashes, SHA-256 of random tokens, the TOTP secret sealed by ThreadStore's own code
// (StoreSecrets, bound to the account row), keyed HMACs of sender addresses and lock keys, opaque IDs, codes and
// times. The master key never leaves the process; the database holds only its sealed key check.

public import Foundation
public import Logging
import PostgresNIO
public import ThreadStore

/// ``WebStateStore`` on PostgreSQL: sessions, TOTP replay protection, login locks and rate limits shared by every
/// node on one database.
///
/// Every check-and-set is atomic across nodes: the TOTP step and the redirect limit are single conditional
/// statements (`UPDATE … WHERE totp_last_step < $step`, `INSERT … ON CONFLICT DO UPDATE … WHERE`), which take the
/// row's lock, so of two nodes racing with the same step or sender exactly one changes the row; the read-then-write
/// methods (session touch and expiry, login locks) run in ``PostgresDatabase/write(_:)``'s `SERIALIZABLE`
/// transactions, retried on serialization failures.
///
/// ```swift
/// let database = try PostgresDatabase(endpoint, logger: logger)
/// async let running: Void = database.run()
/// let state = try await PostgresWebState.open(database, masterKey: key, logger: logger)
/// ```
public final class PostgresWebState: WebStateStore {
    let database: PostgresDatabase
    let secrets: StoreSecrets
    let clock: @Sendable () -> Date
    let logger: Logger

    init(database: PostgresDatabase, secrets: StoreSecrets, clock: @escaping @Sendable () -> Date, logger: Logger) {
        self.database = database
        self.secrets = secrets
        self.clock = clock
        self.logger = logger
    }

    /// Checks the master key against the database's key check (writing it if the database has none yet, as the
    /// first SQLite open does) and loads the lookup keys a master key rotation sealed. The schema must be migrated
    /// (``PostgresStore/open(_:logger:)``) and `database` running.
    /// - Throws: ``ThreadStoreError/wrongMasterKey`` when the database was created with another master key.
    /// `organisationKeys`: the organisations' own keys (issue 29); one whose stored key check fails is dropped
    /// (``OrganisationKeys/refused``), one seen for the first time gets its check stored.
    public static func open(
        _ database: PostgresDatabase, masterKey: MasterKey, clock: @escaping @Sendable () -> Date = { Date() },
        organisationKeys: OrganisationKeys = OrganisationKeys(), logger: Logger
    ) async throws -> PostgresWebState {
        let fresh = StoreSecrets(masterKey: masterKey)
        let check = try fresh.makeKeyCheck()
        let now = StoreTime.milliseconds(clock())
        let stored = try await database.write { connection -> (Data, Data?) in
            try await connection.query("""
                INSERT INTO store_meta (id, key_check, created_at) VALUES (1, \(check), \(now))
                ON CONFLICT (id) DO NOTHING
                """, logger: logger)
            let rows = try await connection.query(
                "SELECT key_check, lookup_keys_sealed FROM store_meta WHERE id = 1", logger: logger)
            for try await row in rows.decode((Data, Data?).self) { return row }
            throw ThreadStoreError.databaseCorrupt
        }
        guard fresh.verifiesKeyCheck(stored.0) else { throw ThreadStoreError.wrongMasterKey }
        var secrets = fresh
        if let sealed = stored.1 { secrets = try fresh.withLookupKeys(sealed: sealed) }
        secrets = secrets.withOrganisationKeys(
            try await checkedOrganisationKeys(organisationKeys, database: database, now: now, logger: logger))
        return PostgresWebState(database: database, secrets: secrets, clock: clock, logger: logger)
    }

    /// `keys` without those whose `organisation_key` check fails; a first key's check is stored.
    private static func checkedOrganisationKeys(_ keys: OrganisationKeys, database: PostgresDatabase, now: Int64,
                                                logger: Logger) async throws -> OrganisationKeys {
        var keys = keys
        for organisation in keys.organisations.sorted() where keys.hasKey(for: organisation) {
            guard let check = try keys.makeKeyCheck(for: organisation) else { continue }
            let id = organisation.rawValue
            let stored = try await database.write { connection -> Data? in
                try await connection.query("""
                    INSERT INTO organisation_key (organisation, key_check, created_at) VALUES (\(id), \(check), \(now))
                    ON CONFLICT (organisation) DO NOTHING
                    """, logger: logger)
                let rows = try await connection.query(
                    "SELECT key_check FROM organisation_key WHERE organisation = \(id)", logger: logger)
                for try await value in rows.decode(Data.self) { return value }
                return nil
            }
            if let stored, !keys.verifiesKeyCheck(stored, for: organisation) { keys.refuse(organisation) }
        }
        return keys
    }

    // MARK: Accounts

    public func createAccount(_ new: NewAccount, actor: AccountID?, via channel: AuditChannel?) async throws
        -> AccountID
    {
        guard new.isAcceptable else { throw ThreadStoreError.invalidValue }
        let id = AccountID.makeRandom()
        let at = clock()
        try await PostgresAccountRows.mappingUniqueViolation(to: .accountExists) {
            try await insertAccount(new, id: id, at: at, actor: actor, channel: channel)
        }
        return id
    }

    private func insertAccount(_ new: NewAccount, id: AccountID, at: Date, actor: AccountID?,
                               channel: AuditChannel?) async throws {
        let logger = self.logger
        try await database.write { connection in
            guard try await PostgresAccountRows.find(connection, username: new.username, logger: logger) == nil
            else { throw ThreadStoreError.accountExists }
            let ms = StoreTime.milliseconds(at)
            try await connection.query("""
                INSERT INTO account (id, username, display_name, role, language, password_hash, created_at,
                                     password_changed_at, password_must_change, organisation, administers)
                VALUES (\(id.unredactedDescription), \(new.username), \(new.displayName), \(new.role.rawValue),
                        \(new.language.rawValue), \(new.passwordHash), \(ms), \(ms), \(new.mustChangePassword),
                        \(new.organisation?.rawValue), \(new.administers))
                """, logger: logger)
            try await PostgresAccountRows.replaceFields(connection, of: id, with: new.fields, logger: logger)
            try await PostgresAccountRows.audit(connection, at: at, event: .accountCreated,
                                                itemID: id.unredactedDescription, actor: actor, channel: channel,
                                                logger: logger)
        }
    }

    public func account(named username: String) async throws -> Account? {
        let logger = self.logger
        return try await database.read { connection in
            try await PostgresAccountRows.find(connection, username: username, logger: logger)
        }
    }

    public func loginCredentials(username: String) async throws -> LoginCredentials? {
        let logger = self.logger
        let found = try await database.read { connection -> (Account, String, Data?, Int64?)? in
            guard let account = try await PostgresAccountRows.find(connection, username: username, logger: logger)
            else { return nil }
            let rows = try await connection.query("""
                SELECT password_hash, totp_secret_sealed, totp_last_step FROM account
                WHERE id = \(account.id.unredactedDescription)
                """, logger: logger)
            for try await (hash, sealed, step) in rows.decode((String, Data?, Int64?).self) {
                return (account, hash, sealed, step)
            }
            return nil
        }
        guard let (account, hash, sealed, step) = found else { return nil }
        var secret: String?
        if let sealed { secret = try secrets.openTOTPSecret(sealed, for: account.id) }
        return LoginCredentials.stored(account: account, passwordHash: hash, totpSecret: secret, lastTOTPStep: step)
    }

    public func enrolSecondFactor(secret: String, acceptedStep: Int64, for id: AccountID) async throws {
        let sealed = try secrets.sealTOTPSecret(secret, for: id)
        let at = clock()
        let logger = self.logger
        try await database.write { connection in
            let changed = try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET totp_secret_sealed = \(sealed), totp_last_step = \(acceptedStep)
                WHERE id = \(id.unredactedDescription) RETURNING id
                """, logger: logger))
            guard changed == 1 else { throw ThreadStoreError.accountNotFound }
            try await PostgresAccountRows.audit(connection, at: at, event: .secondFactorEnrolled,
                                                itemID: id.unredactedDescription, actor: id, channel: .browser,
                                                logger: logger)
        }
    }

    /// One conditional `UPDATE`: PostgreSQL locks the row, and a second node's `UPDATE` with the same step waits for
    /// the first to commit, then re-checks the condition against the new row and changes nothing (under
    /// `SERIALIZABLE` it fails with 40001 instead and is run again, with the same result).
    public func acceptTOTPStep(_ step: Int64, for id: AccountID) async throws -> Bool {
        let logger = self.logger
        return try await database.write { connection in
            try await PostgresAccountRows.changed(connection.query("""
                UPDATE account SET totp_last_step = \(step)
                WHERE id = \(id.unredactedDescription) AND (totp_last_step IS NULL OR totp_last_step < \(step))
                RETURNING id
                """, logger: logger)) == 1
        }
    }

    public func senderHMAC(canonicalAddress: String) -> SenderHMAC {
        secrets.senderHMAC(canonicalAddress: canonicalAddress)
    }
}
