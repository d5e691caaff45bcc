// Security: reads the literal data out of the decrypted packet stream of an untrusted message (the in-process
// unwrap's output), so that it can be compared octet for octet with the plaintext gpg wrote. Every length is
// checked against the data; depth, packet count and decompressed size are capped as in SignedMessageInspector;
// inflated buffers are zeroed before they are freed.

#if canImport(Glibc)
import Glibc
#endif

/// What the one literal data packet of an OpenPGP message (RFC 9580 §5.9) holds, found through compressed data
/// packets, as compared with gpg's plaintext. Holds no plaintext itself.
struct LiteralDataCheck: Equatable {
    /// The format octet: `b`, `t`, `u`, `m`, …
    var format: UInt8
    /// The date field (seconds since 1970).
    var date: UInt32
    /// Whether the literal data, as gpg writes it (``LiteralDataReader/sameAsGPGWrites(_:format:gpgOutput:)``),
    /// is octet for octet the plaintext gpg wrote.
    var matchesGPGOutput: Bool
}

enum LiteralDataReader {
    enum Failure: Error, Equatable {
        /// Malformed packets, too deep or too many, no literal data packet or more than one, or decompression
        /// failed or passed its cap.
        case unreadable
    }

    /// Finds the literal data of `stream` and compares it with `gpgOutput`; decompressed data counts against
    /// `limit` in all. Nothing is copied out: the comparison runs on the packet body in place.
    static func check(_ stream: [UInt8], against gpgOutput: [UInt8], limit: Int) throws(Failure) -> LiteralDataCheck {
        var found: LiteralDataCheck?
        var budget = limit
        var packets = 0
        try walk(stream[...], gpgOutput: gpgOutput, depth: 0, budget: &budget, packets: &packets, found: &found)
        guard let found else { throw .unreadable }
        return found
    }

    /// What gpg writes for literal data on Unix: GnuPG 2.2.40 drops every CR from text (`t`) and UTF-8 (`u`) data
    /// ("Convert to native line ending", g10/plaintext.c) and writes MIME (`m`), binary and other formats as they
    /// are (checked with gpg 2.2.40: `a\r\nb\rc` in `u` comes out as `a\nbc`, in `m` and `b` unchanged).
    static func sameAsGPGWrites(_ data: ArraySlice<UInt8>, format: UInt8, gpgOutput: [UInt8]) -> Bool {
        guard format == UInt8(ascii: "t") || format == UInt8(ascii: "u") else { return data.elementsEqual(gpgOutput) }
        var output = gpgOutput.makeIterator()
        for octet in data where octet != 0x0D {
            guard output.next() == octet else { return false }
        }
        return output.next() == nil
    }

    private static func walk(_ data: ArraySlice<UInt8>, gpgOutput: [UInt8], depth: Int, budget: inout Int,
                             packets: inout Int, found: inout LiteralDataCheck?) throws(Failure) {
        guard depth <= SignedMessageInspector.maximumDepth else { throw .unreadable }
        var rest = data
        while !rest.isEmpty {
            packets += 1
            guard packets <= SignedMessageInspector.maximumPackets else { throw .unreadable }
            var tag = 0
            var body = ArraySlice<UInt8>()
            do {
                (tag, body, rest) = try SignedMessageInspector.nextPacket(rest, keepingBody: { $0 == 8 || $0 == 11 })
            } catch {
                throw .unreadable
            }
            // A body joined from partial chunks is a buffer of its own, holding plaintext: zeroed when done. A body
            // in one piece is a slice of `data`, which its owner zeroes.
            defer { if !isSlice(body, of: data) { zero(&body) } }
            switch tag {
            case 8:
                guard let algorithm = body.first else { throw .unreadable }
                var inflated: [UInt8]
                do {
                    inflated = try Decompressor.decompress(body.dropFirst(), algorithm: algorithm, limit: budget)
                } catch { throw .unreadable }
                defer { InProcessUnwrap.wipe(&inflated) }
                budget -= inflated.count
                try walk(inflated[...], gpgOutput: gpgOutput, depth: depth + 1, budget: &budget, packets: &packets,
                         found: &found)
            case 11:
                // gpg refuses a message with two literal data packets ("Multiple plaintexts seen").
                guard found == nil else { throw .unreadable }
                found = try compare(body, gpgOutput: gpgOutput)
            default:
                // Signatures, one-pass signatures, and anything gpg ignores; SignedMessageInspector reports key
                // and encrypted-data packets.
                break
            }
        }
    }

    /// Format, file name length, file name, date, data (RFC 9580 §5.9).
    private static func compare(_ body: ArraySlice<UInt8>, gpgOutput: [UInt8]) throws(Failure) -> LiteralDataCheck {
        guard body.count >= 2 else { throw .unreadable }
        let format = body[body.startIndex]
        let nameLength = Int(body[body.startIndex + 1])
        let dateStart = body.startIndex + 2 + nameLength
        guard body.endIndex - dateStart >= 4 else { throw .unreadable }
        let date = body[dateStart..<(dateStart + 4)].reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
        let same = sameAsGPGWrites(body[(dateStart + 4)...], format: format, gpgOutput: gpgOutput)
        return LiteralDataCheck(format: format, date: date, matchesGPGOutput: same)
    }

    private static func isSlice(_ part: ArraySlice<UInt8>, of whole: ArraySlice<UInt8>) -> Bool {
        part.withUnsafeBytes { partBytes in
            whole.withUnsafeBytes { wholeBytes in
                guard let start = partBytes.baseAddress, let base = wholeBytes.baseAddress else { return true }
                return start >= base && start <= base + wholeBytes.count
            }
        }
    }

    private static func zero(_ bytes: inout ArraySlice<UInt8>) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
    }
}
