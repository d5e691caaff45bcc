import Foundation

/// Decodes RFC 2047 encoded words (`=?charset?B|Q?text?=`) in unstructured header text.
///
/// Written in Swift instead of libetpan's `mailmime_encoded_phrase_parse`, which converts through iconv
/// (see ``Charset`` for why we do not) and decodes each word on its own. Here adjacent words with the same
/// charset are joined at byte level first, so a multi-byte character split across two words (forbidden by
/// RFC 2047 §5 but common) decodes correctly. Whitespace between adjacent encoded words is dropped
/// (RFC 2047 §6.2). Words with an unknown charset or broken encoding are kept verbatim (RFC 2047 §6.2:
/// a reader may display them undecoded).
enum EncodedWordDecoder {
    struct Result: Sendable, Hashable {
        var text: String
        /// True if at least one syntactically valid encoded word was found (decoded or not).
        var containsEncodedWord: Bool
    }

    private enum Segment {
        case literal(String)
        case word(raw: String, charset: Charset?, bytes: [UInt8]?)
    }

    static func decode(_ value: String) -> Result {
        let segments = split(value)
        var output = ""
        var found = false
        // Octets of adjacent words in one charset, appended in place (no quadratic re-copying).
        var pendingCharset: Charset?
        var pendingBytes: [UInt8] = []
        var pendingWhitespace = ""
        func flush() {
            if let charset = pendingCharset { output += charset.decode(pendingBytes) }
            pendingCharset = nil
            pendingBytes.removeAll(keepingCapacity: true)
        }
        for segment in segments {
            switch segment {
            case .literal(let text):
                if pendingCharset != nil,
                    text.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r\n" || $0 == "\n" })
                {
                    pendingWhitespace = text
                    continue
                }
                flush()
                output += pendingWhitespace + text
                pendingWhitespace = ""
            case .word(let raw, let charset, let bytes):
                found = true
                guard let charset, let bytes else {
                    flush()
                    output += pendingWhitespace + raw
                    pendingWhitespace = ""
                    continue
                }
                pendingWhitespace = ""
                if pendingCharset != charset { flush() }
                pendingCharset = charset
                pendingBytes += bytes
            }
        }
        flush()
        output += pendingWhitespace
        return Result(text: output, containsEncodedWord: found)
    }

    /// True if the text holds anything shaped like an encoded word, valid or not.
    static func containsEncodedWordMarker(_ value: String) -> Bool {
        value.contains("=?") && value.contains("?=")
    }

    private static func split(_ value: String) -> [Segment] {
        var segments: [Segment] = []
        var literal = ""
        let scalars = Array(value.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "=", index + 1 < scalars.count, scalars[index + 1] == "?",
                let (end, word) = parseWord(scalars, from: index)
            {
                if !literal.isEmpty { segments.append(.literal(literal)) }
                literal = ""
                segments.append(word)
                index = end
            } else {
                literal.unicodeScalars.append(scalars[index])
                index += 1
            }
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        return segments
    }

    /// Parses `=?charset?enc?text?=` starting at `start`; returns the index after it.
    private static func parseWord(_ s: [Unicode.Scalar], from start: Int) -> (Int, Segment)? {
        func isTokenChar(_ c: Unicode.Scalar) -> Bool { c.isASCII && c.value > 0x20 && c != "?" && c.value < 0x7F }
        var i = start + 2
        var charset = ""
        while i < s.count, isTokenChar(s[i]) {
            charset.unicodeScalars.append(s[i])
            i += 1
        }
        guard !charset.isEmpty, i + 2 < s.count, s[i] == "?", s[i + 2] == "?" else { return nil }
        let encoding = s[i + 1]
        guard "bBqQ".unicodeScalars.contains(encoding) else { return nil }
        i += 3
        var text = ""
        while i + 1 < s.count, !(s[i] == "?" && s[i + 1] == "="), isTokenChar(s[i]) {
            text.unicodeScalars.append(s[i])
            i += 1
        }
        guard i + 1 < s.count, s[i] == "?", s[i + 1] == "=" else { return nil }
        let end = i + 2
        let raw = String(String.UnicodeScalarView(s[start..<end]))
        // RFC 2231 §5: charset may carry a language suffix, `utf-8*de`.
        let label = charset.split(separator: "*", maxSplits: 1).first.map(String.init) ?? charset
        let bytes = (encoding == "b" || encoding == "B") ? decodeB(text) : decodeQ(text)
        return (end, .word(raw: raw, charset: Charset(label: label), bytes: bytes))
    }

    /// RFC 2047 §4.1 "B" encoding (base64, RFC 4648 §4); missing padding is tolerated.
    private static func decodeB(_ text: String) -> [UInt8]? {
        var padded = text
        while padded.utf8.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded).map { [UInt8]($0) }
    }

    /// RFC 2047 §4.2 "Q" encoding: `_` is SP, `=XX` a hex octet.
    private static func decodeQ(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "_"):
                out.append(0x20)
                i += 1
            case UInt8(ascii: "="):
                guard let hi = hexValue(bytes[safe: i + 1]), let lo = hexValue(bytes[safe: i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            default:
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    static func hexValue(_ byte: UInt8?) -> UInt8? {
        guard let byte else { return nil }
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
