// Security: what binds a sealed piece to its place in a value cut into pieces (backup archives, large sealed values).

import Foundation

/// The associated data of one piece of a value sealed in pieces: `prefix ‖ index (8 bytes, big-endian) ‖ last (1
/// byte: 1 for the last piece, else 0)`. With it a piece opens only at its own index and only with its own answer
/// to "is this the end?", so pieces cannot be reordered, dropped, repeated or cut off at the end unnoticed (the
/// STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár, 2015). `prefix` binds the value as a whole.
enum PieceBinding {
    static func associatedData(prefix: Data, index: UInt64, last: Bool) -> Data {
        var data = prefix
        withUnsafeBytes(of: index.bigEndian) { data.append(contentsOf: $0) }
        data.append(last ? 1 : 0)
        return data
    }
}
