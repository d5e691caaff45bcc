// Security: client public keys pass between nodes only sealed (PostgresKeyShelf); here they are opened and imported
// into this node's GnuPG home like a key a message offered: public keys only (key data holding secret key material
// is refused by PGPShim), and a row must hold the key it is filed under (its fingerprint's keyed HMAC), so not even
// someone who can write the table can plant another key under a client's row. Logs carry counts, never keys.

import Crypto
public import Foundation
public import Logging
public import PGPShim
public import ServiceLifecycle
public import StorePostgres

/// Keeps this node's GnuPG home in step with the clients' public keys that all nodes on one PostgreSQL share
/// (issue 21): a node that imported a client's key publishes it, and every node pulls what changed, so a key added on
/// one node is usable on the others within one poll interval.
///
/// ```swift
/// let keys = SharedPublicKeys(shelf: shelf, pgp: pgp, logger: logger)
/// try await keys.publish(clientKey)         // after the pipeline imported it
/// let imported = try await keys.pull()      // or run it as a Service: a pull every ``pullInterval``
/// ```
public actor SharedPublicKeys {
    let shelf: PostgresKeyShelf
    let pgp: PGPService
    let logger: Logger
    /// The newest change time seen on the shelf.
    private var newest: Int64?
    /// Row key → SHA-256 of the key data this node has (imported or published): the overlap's repeats are skipped.
    private var have: [Data: Data] = [:]
    /// Rows per page.
    static let pageSize = 200

    public init(shelf: PostgresKeyShelf, pgp: PGPService, logger: Logger) {
        self.shelf = shelf
        self.pgp = pgp
        self.logger = logger
    }

    /// Puts this node's copy of the public key `fingerprint` on the shelf for the other nodes.
    public func publish(_ fingerprint: KeyFingerprint) async throws {
        let keyData = try await pgp.exportPublicKey(fingerprint, armored: false)
        try await shelf.put(keyData, for: fingerprint)
        have[shelf.rowKey(fingerprint)] = Self.digest(keyData)
    }

    /// Imports the keys other nodes put on the shelf since the last call; returns how many were imported. A row
    /// whose key is not the one it is filed under is skipped (and logged by count).
    @discardableResult
    public func pull() async throws -> Int {
        var position = newest.map(ShelfPosition.rereading(from:))
        var imported = 0
        var misfiled = 0
        while true {
            let page = try await shelf.page(after: position, limit: Self.pageSize)
            for key in page {
                let digest = Self.digest(key.keyData)
                if have[key.rowKey] != digest {
                    let summary = try await pgp.importPublicKeys(key.keyData)
                    if summary.fingerprints.contains(where: { shelf.rowKey($0) == key.rowKey }) {
                        imported += 1
                    } else {
                        misfiled += 1
                    }
                    have[key.rowKey] = digest
                }
                newest = max(newest ?? key.changedAt, key.changedAt)
            }
            guard page.count == Self.pageSize, let last = page.last else { break }
            position = ShelfPosition(after: last)
        }
        if misfiled > 0 {
            logger.error("shared public keys: rows whose key is not the one they are filed under",
                         metadata: ["count": "\(misfiled)"])
        }
        if imported > 0 { logger.info("shared public keys imported", metadata: ["count": "\(imported)"]) }
        return imported
    }

    /// How often the daemon pulls: "a key added on one node is usable on the others within seconds".
    public static let pullInterval: Duration = .seconds(2)

    /// One pull; a failure is logged (by kind) and tried again at the next.
    func pullLogged() async {
        do {
            try await pull()
        } catch {
            logger.warning("shared public keys: pull failed", metadata: ["error": "\(type(of: error))"])
        }
    }

    private static func digest(_ bytes: [UInt8]) -> Data { Data(SHA256.hash(data: bytes)) }
}

extension SharedPublicKeys: Service {
    /// Pulls every ``pullInterval`` until graceful shutdown or cancellation.
    public nonisolated func run() async throws {
        await runPeriodically(every: Self.pullInterval) { await self.pullLogged() }
    }
}
