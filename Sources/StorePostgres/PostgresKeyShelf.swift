// Security: the clients' public keys shared by every node (issue 21). A public key names its owner, so the rows
// hold a keyed HMAC of the fingerprint and the key sealed under the master key (StoreSecrets+PublicKeys.swift);
// PostgreSQL never sees a name, an address or a fingerprint. Nothing opened here is logged.

public import Foundation
public import Logging
import PostgresNIO
public import ThreadStore

/// One shared public key as read back: its row key, the exported key (opened), and when it last changed.
public struct SharedPublicKey: Sendable, CustomStringConvertible {
    /// ``StoreSecrets/publicKeyHMAC(_:)`` of the key's fingerprint.
    public let rowKey: Data
    public let keyData: [UInt8]
    /// The database's clock at the last write, in milliseconds.
    public let changedAt: Int64

    public var description: String { "SharedPublicKey(\(keyData.count) octets, changed \(changedAt))" }
}

/// The shelf of public keys every node of one database shares: a node that imports a client's key puts it here, and
/// every other node takes what changed since it last looked and imports it into its own GnuPG home (the gateway's
/// `SharedPublicKeys`), so a key added on one node is usable on the others within one poll.
///
/// ```swift
/// let shelf = try await PostgresKeyShelf.open(database, masterKey: key, logger: logger)
/// try await shelf.put(keyData, for: fingerprint)
/// let keys = try await shelf.page(after: .rereading(from: newestSeen))
/// ```
public final class PostgresKeyShelf: Sendable {
    let database: PostgresDatabase
    let secrets: StoreSecrets
    let logger: Logger
    /// How far back each poll reads before its cursor: a write takes its time from the database's clock before it
    /// commits, so a write committed after a later one carries the earlier time.
    public static let overlapMilliseconds: Int64 = 60_000

    init(database: PostgresDatabase, secrets: StoreSecrets, logger: Logger) {
        self.database = database
        self.secrets = secrets
        self.logger = logger
    }

    /// Checks the master key against the database (as the other PostgreSQL stores do).
    /// - Throws: ``ThreadStoreError/wrongMasterKey``.
    public static func open(_ database: PostgresDatabase, masterKey: MasterKey,
                            configuration: ThreadStore.Configuration = ThreadStore.Configuration(),
                            logger: Logger) async throws -> PostgresKeyShelf {
        let state = try await PostgresWebState.open(database, masterKey: masterKey, clock: configuration.clock,
                                                    logger: logger)
        return PostgresKeyShelf(database: database, secrets: state.secrets, logger: logger)
    }

    /// The row key of `fingerprint` (to recognise a shelf entry after opening it).
    public func rowKey(_ fingerprint: KeyFingerprint) -> Data { secrets.publicKeyHMAC(fingerprint) }

    /// Puts `keyData` (an exported public key whose primary fingerprint is `fingerprint`) on the shelf, replacing
    /// what was there for that key.
    public func put(_ keyData: [UInt8], for fingerprint: KeyFingerprint) async throws {
        let rowKey = secrets.publicKeyHMAC(fingerprint)
        let sealed = try secrets.sealPublicKey(keyData, for: fingerprint)
        let logger = self.logger
        try await database.write { connection in
            try await connection.query("""
                INSERT INTO public_key (key_hmac, sealed, changed_at)
                VALUES (\(ByteBuffer(bytes: rowKey)), \(ByteBuffer(bytes: sealed)),
                        (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)
                ON CONFLICT (key_hmac) DO UPDATE SET sealed = EXCLUDED.sealed, changed_at = EXCLUDED.changed_at
                """, logger: logger)
        }
    }

    /// The keys after `position` in the order (change time, row key), at most `limit`; nil starts at the
    /// beginning. A node reads from its last poll's newest change time minus ``overlapMilliseconds`` (``ShelfPosition/
    /// rereading(from:)``) and pages on with the last key's position until a page is short; the overlap returns recent
    /// keys again, which callers recognise and skip.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when a row was altered or moved to another key's row.
    public func page(after position: ShelfPosition?, limit: Int = 200) async throws -> [SharedPublicKey] {
        guard limit > 0, limit <= 1000 else { throw ThreadStoreError.limitExceeded }
        let time = position?.changedAt ?? Int64.min
        let key = ByteBuffer(bytes: position?.rowKey ?? Data())
        let logger = self.logger
        let rows = try await database.read { connection in
            let found = try await connection.query("""
                SELECT key_hmac, sealed, changed_at FROM public_key WHERE (changed_at, key_hmac) > (\(time), \(key))
                ORDER BY changed_at, key_hmac LIMIT \(limit)
                """, logger: logger)
            var rows: [(Data, Data, Int64)] = []
            for try await row in found.decode((Data, Data, Int64).self) { rows.append(row) }
            return rows
        }
        return try rows.map { rowKey, sealed, changedAt in
            SharedPublicKey(rowKey: rowKey, keyData: try secrets.openPublicKey(sealed, rowKey: rowKey),
                            changedAt: changedAt)
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
    public init(after key: SharedPublicKey) {
        self.init(changedAt: key.changedAt, rowKey: key.rowKey)
    }
}
