// Security: the keys shared by every node (issue 21): the clients' public keys and the gateway's own secret keys.
// A public key names its owner and a secret key is the gateway's identity, so the rows hold a keyed HMAC of the
// fingerprint and the key sealed under the master key (StoreSecrets+PublicKeys.swift); PostgreSQL never sees a
// name, an address, a fingerprint or key material. Nothing opened here is logged.

public import Foundation
public import Logging
import PostgresNIO
public import ThreadStore

/// One shared key as read back: its row key, the exported key (opened), and when it last changed. A row that does
/// not open (altered, or moved under another key's row key) is read back as not ``readable``, with no key data, so
/// that one damaged row does not stop the others.
public struct ShelvedKey: Sendable, CustomStringConvertible {
    /// The keyed HMAC of the key's fingerprint (``PostgresKeyShelf/rowKey(_:)``).
    public let rowKey: Data
    public private(set) var keyData: [UInt8]
    /// The database's clock at the last write, in milliseconds.
    public let changedAt: Int64
    /// False for a row that did not open.
    public let readable: Bool

    public var description: String {
        readable ? "ShelvedKey(\(keyData.count) octets, changed \(changedAt))" : "ShelvedKey(unreadable)"
    }

    /// Zeroes the key data (a gateway secret key, once imported).
    public mutating func wipe() { keyData.wipe() }
}

/// A shelf of keys every node of one database shares (``Contents``): a node that imports a client's key, or makes or
/// changes a gateway key, puts it here, and every other node takes what changed since it last looked and imports it
/// into its own GnuPG home (the gateway's `SharedKeys`), so a key added on one node is
/// usable on the others within one poll.
///
/// ```swift
/// let shelf = try await PostgresKeyShelf.open(database, masterKey: key, logger: logger)   // clients' public keys
/// try await shelf.put(keyData, for: fingerprint)
/// let keys = try await shelf.page(after: .rereading(from: newestSeen))
/// ```
public final class PostgresKeyShelf: Sendable {
    /// What a shelf holds; each has its table (the same shape) and its own sealing key.
    public enum Contents: Sendable {
        /// Clients' public keys (schema version 6, `public_key`).
        case clientPublicKeys
        /// The gateway's secret keys, as gpg exports them (schema version 7, `gateway_secret_key`).
        case gatewaySecretKeys

        var table: String {
            switch self {
            case .clientPublicKeys: "public_key"
            case .gatewaySecretKeys: "gateway_secret_key"
            }
        }
    }

    let database: PostgresDatabase
    let secrets: StoreSecrets
    public let contents: Contents
    let logger: Logger
    /// How far back each poll reads before its cursor: a write takes its time from the database's clock before it
    /// commits, so a write committed after a later one carries the earlier time.
    public static let overlapMilliseconds: Int64 = 60_000

    init(database: PostgresDatabase, secrets: StoreSecrets, contents: Contents = .clientPublicKeys, logger: Logger) {
        self.database = database
        self.secrets = secrets
        self.contents = contents
        self.logger = logger
    }

    /// Checks the master key against the database (as the other PostgreSQL stores do).
    /// - Throws: ``ThreadStoreError/wrongMasterKey``.
    public static func open(_ database: PostgresDatabase, masterKey: MasterKey, contents: Contents = .clientPublicKeys,
                            configuration: ThreadStore.Configuration = ThreadStore.Configuration(),
                            logger: Logger) async throws -> PostgresKeyShelf {
        let state = try await PostgresWebState.open(database, masterKey: masterKey, clock: configuration.clock,
                                                    organisationKeys: configuration.organisationKeys, logger: logger)
        return PostgresKeyShelf(database: database, secrets: state.secrets, contents: contents, logger: logger)
    }

    /// The row key of `fingerprint` (to recognise a shelf entry after opening it).
    public func rowKey(_ fingerprint: KeyFingerprint) -> Data {
        switch contents {
        case .clientPublicKeys: secrets.publicKeyHMAC(fingerprint)
        case .gatewaySecretKeys: secrets.gatewaySecretKeyHMAC(fingerprint)
        }
    }

    private func seal(_ keyData: [UInt8], for fingerprint: KeyFingerprint) throws -> Data {
        switch contents {
        case .clientPublicKeys: try secrets.sealPublicKey(keyData, for: fingerprint)
        case .gatewaySecretKeys: try secrets.sealGatewaySecretKey(keyData, for: fingerprint)
        }
    }

    private func open(_ sealed: Data, rowKey: Data) throws -> [UInt8] {
        switch contents {
        case .clientPublicKeys: try secrets.openPublicKey(sealed, rowKey: rowKey)
        case .gatewaySecretKeys: try secrets.openGatewaySecretKey(sealed, rowKey: rowKey)
        }
    }

    /// Puts `keyData` (an exported key whose primary fingerprint is `fingerprint`) on the shelf, replacing what was
    /// there for that key.
    public func put(_ keyData: [UInt8], for fingerprint: KeyFingerprint) async throws {
        let rowKey = rowKey(fingerprint)
        let sealed = try seal(keyData, for: fingerprint)
        let logger = self.logger
        let table = contents.table
        try await database.write { connection in
            try await connection.query("""
                INSERT INTO \(unescaped: table) (key_hmac, sealed, changed_at)
                VALUES (\(ByteBuffer(bytes: rowKey)), \(ByteBuffer(bytes: sealed)),
                        (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)
                ON CONFLICT (key_hmac) DO UPDATE SET sealed = EXCLUDED.sealed, changed_at = EXCLUDED.changed_at
                """, logger: logger)
        }
    }

    /// Takes `fingerprint` off the shelf (issue 29: a crypto-shredded organisation's gateway keys); returns whether
    /// it was there. Nodes that imported it already keep it until the same command runs on them.
    public func remove(_ fingerprint: KeyFingerprint) async throws -> Bool {
        let rowKey = rowKey(fingerprint)
        let (logger, table) = (self.logger, contents.table)
        return try await database.write { connection in
            let rows = try await connection.query(
                "DELETE FROM \(unescaped: table) WHERE key_hmac = \(ByteBuffer(bytes: rowKey)) RETURNING key_hmac",
                logger: logger)
            var removed = false
            for try await _ in rows { removed = true }
            return removed
        }
    }

    /// The keys after `position` in the order (change time, row key), at most `limit`; nil starts at the
    /// beginning. A node reads from its last poll's newest change time minus ``overlapMilliseconds`` (``ShelfPosition/
    /// rereading(from:)``) and pages on with the last key's position until a page is short; the overlap returns recent
    /// keys again, which callers recognise and skip. Rows that do not open are returned as not readable.
    public func page(after position: ShelfPosition?, limit: Int = 200) async throws -> [ShelvedKey] {
        guard limit > 0, limit <= 1000 else { throw ThreadStoreError.limitExceeded }
        let time = position?.changedAt ?? Int64.min
        let key = ByteBuffer(bytes: position?.rowKey ?? Data())
        let logger = self.logger
        let table = contents.table
        let rows = try await database.read { connection in
            let found = try await connection.query("""
                SELECT key_hmac, sealed, changed_at FROM \(unescaped: table)
                WHERE (changed_at, key_hmac) > (\(time), \(key))
                ORDER BY changed_at, key_hmac LIMIT \(limit)
                """, logger: logger)
            var rows: [(Data, Data, Int64)] = []
            for try await row in found.decode((Data, Data, Int64).self) { rows.append(row) }
            return rows
        }
        return rows.map { rowKey, sealed, changedAt in
            guard let keyData = try? open(sealed, rowKey: rowKey) else {
                return ShelvedKey(rowKey: rowKey, keyData: [], changedAt: changedAt, readable: false)
            }
            return ShelvedKey(rowKey: rowKey, keyData: keyData, changedAt: changedAt, readable: true)
        }
    }
}

/// A place in the shelf's order (change time, row key).
public struct ShelfPosition: Sendable, Hashable {
    public var changedAt: Int64
    public var rowKey: Data

    public init(changedAt: Int64, rowKey: Data) {
        self.changedAt = changedAt
        self.rowKey = rowKey
    }

    /// Where a poll starts that last saw changes up to `newest`: ``PostgresKeyShelf/overlapMilliseconds`` earlier.
    public static func rereading(from newest: Int64) -> ShelfPosition {
        ShelfPosition(changedAt: newest - PostgresKeyShelf.overlapMilliseconds, rowKey: Data())
    }

    /// The position of `key` (to read the next page after it).
    public init(after key: ShelvedKey) {
        self.init(changedAt: key.changedAt, rowKey: key.rowKey)
    }
}
