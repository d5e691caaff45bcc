// Security: decodes the armor of an untrusted OpenPGP message, once, for the shape check, gpg and the in-process
// unwrap alike (ArmorReadOnceTests). Bounded: it holds at most one chunk of radix-64 text and its decoding at a
// time, whatever the message's size, and hands the packets on chunk by chunk (to an array or to a
// ``CiphertextFile``). Linear in the input.

import Foundation

/// The radix-64 body of a `PGP MESSAGE` armor block (RFC 9580 §6.2), decoded the way gpg reads it: armor header
/// lines up to the first empty line (``CiphertextShape/armorBodyStart(_:)``), then base64 characters up to the
/// checksum line or the END line; spaces, line ends and other characters are skipped. Binary input (the first
/// octet has its high bit set, RFC 9580 §4.2) is passed on as it is.
///
/// ```swift
/// var packets: [UInt8] = []
/// let readable = ArmorDecoder.decode(armored) { (chunk: UnsafeRawBufferPointer) throws(Never) in
///     packets.append(contentsOf: chunk)
/// }
/// ```
enum ArmorDecoder {
    /// Radix-64 characters decoded at a time: a multiple of 4, so every chunk but the last is whole groups.
    static let chunkCharacters = 64 * 1024

    /// Passes the binary packets of `message` to `write`, in order, in pieces of at most 48 KiB. Returns false if
    /// `message` is empty, has no readable armor block, or its radix-64 body does not decode (bad padding, a `=`
    /// before the end, a length that is not whole groups); `write` may then already have had some pieces.
    ///
    /// Decoding in chunks gives exactly what decoding the whole body at once gives: a chunk is decoded only when
    /// another radix-64 character follows it, so it is whole 4-character groups, and it must not hold padding
    /// (`=`), which only the last group may have; the last chunk is decoded as the whole body's tail would be.
    static func decode<Failure: Error>(_ message: [UInt8],
                                       _ write: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure)
        -> Bool
    {
        guard let first = message.first else { return false }
        if first & 0x80 != 0 {
            var offset = 0
            while offset < message.count {
                let end = min(offset + chunkCharacters, message.count)
                try message.withUnsafeBytes { all in
                    Result { () throws(Failure) in try write(UnsafeRawBufferPointer(rebasing: all[offset..<end])) }
                }.get()
                offset = end
            }
            return true
        }
        guard let bodyStart = CiphertextShape.armorBodyStart(message) else { return false }
        var pending: [UInt8] = []
        pending.reserveCapacity(chunkCharacters)
        /// Decodes `pending` and passes it on; false if it does not decode or holds padding before the end.
        func flush(last: Bool) throws(Failure) -> Bool {
            guard !pending.isEmpty else { return true }
            if !last, pending.contains(UInt8(ascii: "=")) { return false }
            let decoded: Data? = pending.withUnsafeMutableBytes { raw in
                Data(base64Encoded: Data(bytesNoCopy: raw.baseAddress!, count: raw.count, deallocator: .none))
            }
            pending.removeAll(keepingCapacity: true)
            guard let decoded else { return false }
            try decoded.withUnsafeBytes { bytes in Result { () throws(Failure) in try write(bytes) } }.get()
            return true
        }
        // One pass over the body bytes (no line slices): base64 characters and padding are kept, spaces, line
        // ends and other characters skipped; a line that starts with '=' (the checksum) or '-' (END) ends it.
        var atLineStart = true
        var index = bodyStart
        while index < message.count {
            let byte = message[index]
            index += 1
            switch byte {
            case 0x0A:
                atLineStart = true
            case 0x0D, 0x20, 0x09:
                continue
            case UInt8(ascii: "="), UInt8(ascii: "-"):
                if atLineStart { return try flush(last: true) }
                atLineStart = false
                guard byte == UInt8(ascii: "=") else { continue }
                if pending.count == chunkCharacters { guard try flush(last: false) else { return false } }
                pending.append(byte)
            default:
                atLineStart = false
                guard CiphertextShape.isBase64(byte) else { continue }
                if pending.count == chunkCharacters { guard try flush(last: false) else { return false } }
                pending.append(byte)
            }
        }
        return try flush(last: true)
    }
}
