/// Finds ASCII-armored OpenPGP messages (RFC 4880 §6.2) in decoded body octets.
enum ArmorScanner {
    static let begin = Array("-----BEGIN PGP MESSAGE-----".utf8)
    static let end = Array("-----END PGP MESSAGE-----".utf8)

    enum Result: Equatable {
        case none
        /// Exactly one complete block; `range` covers BEGIN through END line; `onlyWhitespaceAround` tells
        /// whether anything else is in the body.
        case single(range: Range<Int>, onlyWhitespaceAround: Bool)
        case multiple
        case malformed
    }

    static func scan(_ bytes: [UInt8]) -> Result {
        let begins = occurrences(of: begin, in: bytes)
        guard let first = begins.first else { return .none }
        guard begins.count == 1 else { return .multiple }
        let ends = occurrences(of: end, in: bytes)
        guard ends.count == 1, let endStart = ends.first, endStart > first else { return .malformed }
        let range = first..<(endStart + end.count)
        guard bytes[range].allSatisfy({ $0 < 0x80 }) else { return .malformed }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        let around = bytes[..<range.lowerBound].allSatisfy(isSpace) && bytes[range.upperBound...].allSatisfy(isSpace)
        return .single(range: range, onlyWhitespaceAround: around)
    }

    static func containsBegin(_ bytes: [UInt8]) -> Bool { !occurrences(of: begin, in: bytes, limit: 1).isEmpty }

    private static func occurrences(of needle: [UInt8], in bytes: [UInt8], limit: Int = 3) -> [Int] {
        var found: [Int] = []
        guard bytes.count >= needle.count else { return found }
        var i = 0
        let last = bytes.count - needle.count
        while i <= last {
            if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) {
                found.append(i)
                if found.count >= limit { break }
                i += needle.count
            } else {
                i += 1
            }
        }
        return found
    }
}
