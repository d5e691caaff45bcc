// Security: large values (message bodies, attachment contents) are sealed piece by piece (SealedPieces) and each
// sealed piece goes straight into its row; no plaintext is written anywhere and no whole copy of the value is made.

import Crypto
import Foundation
import GRDB
import GRDBSQLite

/// Large sealed values written in pieces (issue 23: "seal and store in bounded chunks").
///
/// Sealed whole and bound as a statement argument, a value of n bytes was held several times at once: swift-crypto's
/// ciphertext and the combined box it joins from it, the sealed `Data` with its version byte, SQLite's copy of the
/// bound argument (GRDB binds with `SQLITE_TRANSIENT`), and the page cache, which keeps every page the transaction
/// changed until the commit (the writer's cache allows 64 MiB). A value of at least ``threshold`` bytes is
/// therefore sealed in pieces (``SealedPieces``, format 2) and written differently: the row is stored with a
/// zero-filled blob of the sealed length, the writer's page cache is lowered to ``spillCacheKiB`` so that SQLite
/// writes changed pages to the WAL as the transaction goes on (pager cache spill) instead of holding them, and
/// each sealed piece is copied into the blob with `sqlite3_blob_write` as soon as it is sealed. Durability (one
/// commit, after which every piece is in the WAL) and atomicity (a failure rolls the whole transaction back,
/// pieces included) are unchanged.
enum LargeSealedValue {
    /// Values from this many plaintext bytes on are sealed and written in pieces (the pipeline's `ExclusiveGate`
    /// lets one message of 1 MiB or more through at a time).
    static let threshold = 1 << 20
    /// The writer's page cache while a large value is written, in KiB.
    static let spillCacheKiB = 2 << 10
}

extension WriteTransaction {
    /// Seals `plaintext` in pieces and writes it into `column` of the row with `rowID` in `table`, with the writer's
    /// page cache lowered while it does (``LargeSealedValue``). The row must exist; the column's value is replaced.
    func writeLargeSealedValue(
        _ plaintext: [UInt8], key: SymmetricKey, context sealContext: SealContext,
        table: String, column: String, rowID: Int64
    ) throws {
        try withSpillingCache {
            try db.execute(sql: "UPDATE \(table) SET \(column) = zeroblob(?) WHERE rowid = ?",
                           arguments: [SealedPieces.sealedLength(plaintextCount: plaintext.count), rowID])
            var blob: OpaquePointer?
            let opened = sqlite3_blob_open(db.sqliteConnection, "main", table, column, rowID, 1, &blob)
            defer { sqlite3_blob_close(blob) }
            guard opened == SQLITE_OK, let blob else { throw DatabaseError(resultCode: ResultCode(rawValue: opened)) }
            try SealedPieces.seal(plaintext, key: key, context: sealContext) { part, offset in
                let result = part.withUnsafeBytes { bytes in
                    sqlite3_blob_write(blob, bytes.baseAddress, Int32(bytes.count), Int32(offset))
                }
                // As a DatabaseError, so the transaction maps it like any other SQLite failure (no SQL, no values).
                guard result == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: result)) }
            }
        }
    }

    /// Runs `body` with the writer's page cache at ``LargeSealedValue/spillCacheKiB``, then restores the configured
    /// size (also when `body` throws).
    private func withSpillingCache<T>(_ body: () throws -> T) throws -> T {
        try db.execute(sql: "PRAGMA cache_size = \(-LargeSealedValue.spillCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = \(-max(0, context.configuration.writerCacheKiB))") }
        return try body()
    }
}
