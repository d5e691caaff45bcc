// Security: keys pass between nodes only sealed (PostgresKeyShelf); here they are opened and imported into this
// node's GnuPG home. Clients' public keys are imported like a key a message offered (public keys only: key data
// holding secret key material is refused by PGPShim); gateway secret keys only through PGPShim's own import for
// them (exactly one key, with its secret part). Either way a row must hold the key it is filed under (its
// fingerprint's keyed HMAC), so not even someone who can write the table can plant another key under a row. Logs
// carry counts, never keys.

import Crypto
public import Foundation
public import Logging
public import PGPShim
public import ServiceLifecycle
public import StorePostgres
import ThreadStore

/// Keeps this node's GnuPG home in step with the keys that all nodes on one PostgreSQL share (issue 21): the
/// clients' public keys (a node that imported a client's key publishes it) or the gateway's own secret keys (a node
/// that made or changed one publishes it), and every node pulls what changed, so a key added on one node is usable
/// on the others within one poll interval. The shelf's ``PostgresKeyShelf/Contents`` says which.
///
/// ```swift
/// let keys = SharedKeys(shelf: shelf, pgp: pgp, logger: logger)
/// try await keys.publish(clientKey)         // after the pipeline imported it
/// let imported = try await keys.pull()      // or run it as a Service: a pull every ``pullInterval``
/// ```
public actor SharedKeys {
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

    private var what: String {
        switch shelf.contents {
        case .clientPublicKeys: "shared public keys"
        case .gatewaySecretKeys: "shared gateway keys"
        }
    }

    /// Puts this node's copy of the key `fingerprint` on the shelf for the other nodes.
    public func publish(_ fingerprint: KeyFingerprint) async throws {
        var keyData: [UInt8]
        switch shelf.contents {
        case .clientPublicKeys: keyData = try await pgp.exportPublicKey(fingerprint, armored: false)
        case .gatewaySecretKeys: keyData = try await pgp.exportGatewaySecretKey(fingerprint)
        }
        defer { keyData.wipe() }
        try await shelf.put(keyData, for: fingerprint)
        have[shelf.rowKey(fingerprint)] = Self.digest(keyData)
    }

    /// Publishes those of `fingerprints` that the shelf does not hold (as far as the pulls so far have seen; call
    /// ``pull()`` first). Returns how many were published.
    @discardableResult
    public func publishMissing(_ fingerprints: [KeyFingerprint]) async throws -> Int {
        var published = 0
        for fingerprint in fingerprints where have[shelf.rowKey(fingerprint)] == nil {
            try await publish(fingerprint)
            published += 1
        }
        if published > 0 { logger.notice("\(what) published", metadata: ["count": "\(published)"]) }
        return published
    }

    /// Imports the keys other nodes put on the shelf since the last call; returns how many were imported. A row
    /// that does not open, or whose key is not the one it is filed under, is skipped (and logged by count); a
    /// later write to that row is read again.
    @discardableResult
    public func pull() async throws -> Int {
        var position = newest.map(ShelfPosition.rereading(from:))
        var imported = 0
        var misfiled = 0
        while true {
            let page = try await shelf.page(after: position, limit: Self.pageSize)
            for var key in page {
                defer { key.wipe() }
                let digest = Self.digest(key.keyData)
                if have[key.rowKey] != digest {
                    if key.readable, try await importKey(key) { imported += 1 } else { misfiled += 1 }
                    have[key.rowKey] = digest
                }
                newest = max(newest ?? key.changedAt, key.changedAt)
            }
            guard page.count == Self.pageSize, let last = page.last else { break }
            position = ShelfPosition(after: last)
        }
        if misfiled > 0 {
            logger.error("\(what): rows that do not open or do not hold the key they are filed under",
                         metadata: ["count": "\(misfiled)"])
        }
        if imported > 0 { logger.info("\(what) imported", metadata: ["count": "\(imported)"]) }
        return imported
    }

    /// Imports one shelf row; false if it does not hold the key it is filed under.
    private func importKey(_ key: ShelvedKey) async throws -> Bool {
        let shelf = self.shelf
        let rowKey = key.rowKey
        switch shelf.contents {
        case .clientPublicKeys:
            let summary = try await pgp.importPublicKeys(key.keyData)
            return summary.fingerprints.contains { shelf.rowKey($0) == rowKey }
        case .gatewaySecretKeys:
            do {
                _ = try await pgp.importGatewaySecretKey(key.keyData, accepting: { shelf.rowKey($0) == rowKey })
                return true
            } catch let error as PGPError where error.code == .invalidInput {
                return false
            }
        }
    }

    /// How often the daemon pulls: "a key added on one node is usable on the others within seconds".
    public static let pullInterval: Duration = .seconds(2)

    /// One pull; a failure is logged (by kind) and tried again at the next.
    func pullLogged() async {
        do {
            try await pull()
        } catch {
            logger.warning("\(what): pull failed", metadata: ["error": "\(type(of: error))"])
        }
    }

    private static func digest(_ bytes: [UInt8]) -> Data { Data(SHA256.hash(data: bytes)) }
}

extension SharedKeys: Service {
    /// Pulls every ``pullInterval`` until graceful shutdown or cancellation.
    public nonisolated func run() async throws {
        await runPeriodically(every: Self.pullInterval) { await self.pullLogged() }
    }
}
