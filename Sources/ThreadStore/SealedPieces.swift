// Security: the sealed format for large values (issue 23), written piece by piece so that no copy of the whole
// value exists while it is sealed. Same key, same context binding as every other sealed value; each piece is
// also bound to its place (PieceBinding), so pieces cannot be dropped, reordered, repeated or moved between
// values. Nonces are random per piece: the data key seals many values, so an index nonce would repeat.

import Crypto
import Foundation

/// Sealed-value format 2: a version byte (2), the piece length L as a 4-byte big-endian number, then the
/// plaintext's pieces of L bytes (the last one 1 to L bytes), each sealed as ChaChaPoly's combined box
/// (12-byte random nonce, ciphertext, 16-byte tag) with associated data `context ‖ "piece" ‖ index (8 bytes,
/// big-endian) ‖ last (1 byte, 1 for the last piece)`.
///
/// ``Sealing/open(_:key:context:)`` opens both formats; format 1 stays what every small value uses.
enum SealedPieces {
    static let version: UInt8 = 2
    /// The piece length this code writes. Readers accept any ``pieceLengths``.
    static let pieceLength = 1 << 20
    /// Piece lengths a stored value may declare.
    static let pieceLengths = 4096...(16 << 20)
    static let headerLength = 5
    static let pieceOverhead = 12 + 16

    /// The sealed length of `count` plaintext bytes (at least one).
    static func sealedLength(plaintextCount count: Int, pieceLength: Int = pieceLength) -> Int {
        let pieces = (count + pieceLength - 1) / pieceLength
        return headerLength + count + pieces * pieceOverhead
    }

    /// Seals `plaintext` (not empty) piece by piece and hands each part of the sealed value to `write` in order,
    /// with its offset in the sealed value: first the header, then each piece's box. Only one piece is held
    /// sealed at a time.
    static func seal(
        _ plaintext: [UInt8], key: SymmetricKey, context: SealContext,
        write: (_ part: Data, _ offset: Int) throws -> Void
    ) throws {
        guard !plaintext.isEmpty else { throw ThreadStoreError.invalidValue }
        var header = Data([version])
        withUnsafeBytes(of: UInt32(pieceLength).bigEndian) { header.append(contentsOf: $0) }
        try write(header, 0)
        let base = context.associatedData
        var offset = headerLength
        var index: UInt64 = 0
        var start = 0
        while start < plaintext.count {
            let end = min(start + pieceLength, plaintext.count)
            let box: ChaChaPoly.SealedBox
            do {
                box = try ChaChaPoly.seal(plaintext[start..<end], using: key,
                                          authenticating: associatedData(base, index: index, last: end == plaintext.count))
            } catch {
                throw ThreadStoreError.sealingFailed
            }
            try write(box.combined, offset)
            offset += box.combined.count
            index += 1
            start = end
        }
    }

    /// Opens a format-2 value: every piece must open under its own index, the last one (and only it) marked last,
    /// and the lengths must add up exactly.
    static func open(_ sealed: Data, key: SymmetricKey, context: SealContext) throws(ThreadStoreError) -> Data {
        guard sealed.count > headerLength + pieceOverhead, sealed.first == version else { throw .unsealingFailed }
        let start = sealed.startIndex
        let declared = sealed[(start + 1)..<(start + headerLength)].reduce(0) { $0 << 8 | Int($1) }
        guard pieceLengths.contains(declared) else { throw .unsealingFailed }
        let base = context.associatedData
        var plaintext = Data()
        plaintext.reserveCapacity(sealed.count - headerLength)
        var position = start + headerLength
        var index: UInt64 = 0
        while position < sealed.endIndex {
            let remaining = sealed.endIndex - position
            let last = remaining <= declared + pieceOverhead
            let length = last ? remaining : declared + pieceOverhead
            guard length > pieceOverhead else { throw .unsealingFailed }
            do {
                let box = try ChaChaPoly.SealedBox(combined: sealed[position..<(position + length)])
                plaintext.append(try ChaChaPoly.open(box, using: key,
                                                     authenticating: associatedData(base, index: index, last: last)))
            } catch {
                plaintext.resetBytes(in: plaintext.startIndex..<plaintext.endIndex)
                throw .unsealingFailed
            }
            position += length
            index += 1
        }
        return plaintext
    }

    private static func associatedData(_ base: Data, index: UInt64, last: Bool) -> Data {
        PieceBinding.associatedData(prefix: base + Data("piece".utf8), index: index, last: last)
    }
}
