// Security: ThreadStore holds all mail content at rest; nothing else in MailBridge writes mail content to disk.
// It touches untrusted input only as opaque values handed in by the pipeline and the web inbox (decrypted mail,
// subjects, file names, addresses, IDs from URLs); it parses none of it, bounds all of it (Configuration limits)
// and binds it only as SQL arguments. Content is sealed per thread (Sealing.swift) before it reaches SQLite;
// clear columns hold only IDs, timestamps, enum codes, sizes, keyed HMACs and the counselling field name.
// Deleting a thread deletes its wrapped data key and rows with `secure_delete=ON`, then truncates the WAL, so
// nothing of it stays readable in the database file or WAL. Errors never carry SQL, arguments or content.
// No network access.

public import Foundation
import GRDB
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The encrypted store of counselling threads, on SQLite (GRDB `DatabasePool`: WAL, `synchronous=FULL`,
/// `secure_delete=ON`, one writer, many readers).
///
/// All access goes through scoped async transactions; the closures run on GRDB's dispatch queues, never on
/// the caller's thread, so an event loop is never blocked. A `write` returns only after its commit is durable.
///
/// ```swift
/// let store = try ThreadStore(at: URL(filePath: "/var/lib/mailbridge/threads.sqlite"),
///                             masterKey: try MasterKey(credentialNamed: "threadstore.key"))
/// let outcome = try await store.write { tx in
///     let outcome = try tx.importMessage(message, into: .client(identity))
///     if case .stored(let thread, _, _) = outcome { try tx.enqueueOutbox(notification(for: thread)) }
///     return outcome
/// }
/// let page = try await store.read { tx in try tx.listThreads(field: field, state: .open) }
/// ```
public final class ThreadStore: Sendable {
    /// Limits and tunables.
    public struct Configuration: Sendable {
        /// Largest raw MIME body stored per message.
        public var maximumBodyBytes = 64 << 20
        /// Largest subject.
        public var maximumSubjectBytes = 16 << 10
        /// Largest Message-ID (RFC 5322 §2.1.1 line limit).
        public var maximumMessageIDBytes = 998
        /// Most attachments per message.
        public var maximumAttachments = 100
        /// Largest attachment content.
        public var maximumAttachmentBytes = 64 << 20
        /// Largest attachment file name, in UTF-8 octets.
        public var maximumAttachmentNameBytes = 1024
        /// Largest attachment media type, in UTF-8 octets.
        public var maximumMediaTypeBytes = 1024
        /// Largest outbox payload.
        public var maximumOutboxPayloadBytes = 64 << 20
        /// Largest page ``ReadTransaction/listThreads(field:state:limit:before:)`` returns.
        public var maximumPageSize = 500
        /// Maximum concurrent reader connections.
        public var maximumReaders = 8
        /// Page cache of the writer connection, in KiB (SQLite's default is 2000 KiB). Imports touch random
        /// places of the ID and HMAC indexes, so a larger writer cache keeps them fast on big stores.
        public var writerCacheKiB = 64 << 10
        /// Page cache of each reader connection, in KiB.
        public var readerCacheKiB = 8 << 10
        /// How long a connection waits for a lock before failing.
        public var busyTimeout: TimeInterval = 10
        /// The clock for audit timestamps and thread creation (inject a fake in tests).
        public var clock: @Sendable () -> Date = { Date() }
        /// Where the store logs (no content, no IDs in clear).
        public var logger = Logger(label: "mailbridge.threadstore")
        /// The organisations' own master keys and the fields they own (issue 29). A key that does not match the
        /// one the store first saw for its organisation is dropped at open (``organisationKeys``).
        public var organisationKeys = OrganisationKeys()

        /// The defaults.
        public init() {}
    }

    let pool: DatabasePool
    let keys: DerivedKeys
    /// The limits and tunables in force (the pipeline fits imports to them; issue 25).
    public let configuration: Configuration
    /// The database file.
    public let url: URL
    /// The organisations' keys in force: those of ``Configuration/organisationKeys`` that match the store.
    public var organisationKeys: OrganisationKeys { keys.organisations }

    /// Opens (or creates, with mode 0600) the store at `url` and checks the master key.
    ///
    /// Blocks briefly for file I/O and migrations: call it at start-up, not on an event loop.
    /// - Throws: ``ThreadStoreError/wrongMasterKey`` if the store was created with another key,
    ///   ``ThreadStoreError/notAThreadStore`` for a foreign SQLite file, ``ThreadStoreError/databaseCorrupt``.
    public init(at url: URL, masterKey: MasterKey, configuration: Configuration = Configuration()) throws {
        self.url = url
        self.configuration = configuration
        let derived = DerivedKeys(master: masterKey)
        try Self.createPrivateFile(path: url.path)

        var config = GRDB.Configuration()
        config.label = "ThreadStore"
        config.busyMode = .timeout(configuration.busyTimeout)
        config.maximumReaderCount = configuration.maximumReaders
        config.foreignKeysEnabled = true
        let readerCacheKiB = max(0, configuration.readerCacheKiB)
        let writerCacheKiB = max(0, configuration.writerCacheKiB)
        config.prepareDatabase { db in
            // Per connection. secure_delete: deleted content is overwritten with zeros (also in freed pages).
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA trusted_schema = OFF")
            // https://www.sqlite.org/pragma.html#pragma_cache_size (negative: KiB)
            try db.execute(sql: "PRAGMA cache_size = \(-readerCacheKiB)")
        }
        let keys = derived
        let now = configuration.clock()
        do {
            pool = try DatabasePool(path: url.path, configuration: config)
            try pool.writeWithoutTransaction { db in
                // GRDB sets synchronous=NORMAL when it enables WAL; the issue asks for FULL (a commit survives
                // power loss). The writer connection lives as long as the pool, so this sticks.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA cache_size = \(-writerCacheKiB)")
                try Self.checkForeignDatabase(db)
            }
            let migrator = Schema.migrator
            if try pool.read({ db in try migrator.hasBeenSuperseded(db) }) { throw ThreadStoreError.notAThreadStore }
            do { try migrator.migrate(pool) } catch let error as DatabaseError {
                throw ThreadStoreError(.migrationFailed, sqliteResultCode: error.extendedResultCode.rawValue)
            }
            let lookupKeys = try pool.write { db -> Data? in
                if let check = try Data.fetchOne(db, sql: "SELECT key_check FROM store_meta WHERE id = 1") {
                    guard Sealing.verifyKeyCheck(check, keys: keys) else { throw ThreadStoreError.wrongMasterKey }
                    // From the first master key rotation on (v16), the lookup HMAC keys are stored sealed.
                    return try Data.fetchOne(db, sql: "SELECT lookup_keys_sealed FROM store_meta WHERE id = 1")
                } else {
                    try db.cachedStatement(sql: "INSERT INTO store_meta (id, key_check, created_at) VALUES (1, ?, ?)")
                        .execute(
                            arguments: [try Sealing.makeKeyCheck(keys: keys), now.storeMilliseconds]
                        )
                    return nil
                }
            }
            var opened = keys
            if let lookupKeys { opened = try keys.withLookupKeys(sealed: lookupKeys) }
            opened.organisations = try pool.write { db in
                try OrganisationKeyChecks.checked(configuration.organisationKeys, db: db, now: now)
            }
            self.keys = opened
        } catch let error as DatabaseError {
            throw ThreadStoreError.from(error)
        }
        configuration.logger.debug("thread store opened")
    }

    /// Runs `body` in a read-only snapshot, concurrently with other reads and with the writer.
    public func read<T: Sendable>(_ body: @escaping @Sendable (ReadTransaction) throws -> T) async throws -> T {
        let context = TransactionContext(keys: keys, configuration: configuration)
        return try await mappingDatabaseErrors {
            try await pool.read { db in try body(ReadTransaction(db: db, context: context)) }
        }
    }

    /// Runs `body` in a write transaction. Everything `body` does commits together or not at all (an error
    /// thrown by `body` rolls back). Returns after the commit is durable (`synchronous=FULL`).
    public func write<T: Sendable>(_ body: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await write(via: nil, body)
    }

    /// Runs `body` in a write transaction like ``write(_:)``; every audit row of an account's action in it
    /// (``WriteTransaction/recordAccess(_:actor:thread:itemID:count:)`` and the account changes) records
    /// `channel`: through which door the action came.
    public func write<T: Sendable>(
        via channel: AuditChannel?, _ body: @escaping @Sendable (WriteTransaction) throws -> T
    ) async throws -> T {
        let context = TransactionContext(keys: keys, configuration: configuration, auditChannel: channel)
        return try await mappingDatabaseErrors {
            try await pool.write { db in try body(WriteTransaction(db: db, context: context)) }
        }
    }

    /// The keyed HMAC of a canonical sender address, for ``WriteTransaction/shouldSendRedirect(to:now:period:)``.
    public func senderHMAC(canonicalAddress: String) -> SenderHMAC {
        SenderHMAC(bytes: RateLimit.hmac(canonicalAddress: canonicalAddress, keys: keys))
    }

    /// The keyed fingerprint of `material` (a session key, or a message's literal data and signatures) for replay
    /// detection (``NewMessage/replayFingerprints``).
    public func replayFingerprint(_ kind: ReplayFingerprint.Kind, _ material: some DataProtocol) -> ReplayFingerprint {
        ReplayFingerprint(bytes: keys.indexHMAC(kind.rawValue, material))
    }

    /// HMAC-SHA256 of `message` under a key derived from the master key for the web inbox's device cookies only.
    /// A new master key invalidates every device cookie.
    public func webDeviceMAC(_ message: some DataProtocol) -> Data {
        keys.webDeviceMAC(message)
    }

    /// Closes all connections after checkpointing. Later calls fail. Blocks briefly: call it at shutdown.
    public func close() throws {
        try mappingDatabaseErrors { try pool.close() }
    }

    /// Checkpoints the WAL into the database file and truncates the WAL to zero bytes.
    ///
    /// - Throws: ``ThreadStoreError/checkpointIncomplete`` if a reader kept part of the WAL in use.
    public func checkpoint() async throws {
        try await mappingDatabaseErrors {
            try await pool.writeWithoutTransaction { db in
                // PRAGMA wal_checkpoint(TRUNCATE): https://www.sqlite.org/pragma.html#pragma_wal_checkpoint
                let result = try db.checkpoint(.truncate)
                guard result.walFrameCount == result.checkpointedFrameCount else {
                    throw ThreadStoreError.checkpointIncomplete
                }
            }
        }
    }

    /// Creates the database file with mode 0600 if missing; tightens the mode if it exists. SQLite gives the
    /// `-wal` and `-shm` files the mode of the database file.
    private static func createPrivateFile(path: String) throws(ThreadStoreError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .databaseUnavailable }
        defer { closeDescriptor(fd) }
        guard fchmod(fd, 0o600) == 0 else { throw .databaseUnavailable }
    }

    /// A non-empty database without GRDB's migration table is someone else's file: do not touch it.
    private static func checkForeignDatabase(_ db: Database) throws {
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        if !tables.isEmpty, !tables.contains("grdb_migrations") { throw ThreadStoreError.notAThreadStore }
    }
}

/// What every transaction value carries: derived keys and limits.
struct TransactionContext: Sendable {
    let keys: DerivedKeys
    let configuration: ThreadStore.Configuration
    /// Recorded with every audit row of an account's action written in this transaction.
    var auditChannel: AuditChannel?
}

extension Date {
    /// Unix time in milliseconds, the store's timestamp format.
    var storeMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
    init(storeMilliseconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(storeMilliseconds) / 1000) }
}
