/// One header field exactly as received (RFC 5322 §2.2) plus its unfolded and RFC 2047-decoded forms.
/// Header values are personal data: `description` shows only the field name and value size.
public struct MIMEHeaderField: Sendable, Hashable, CustomStringConvertible {
    /// The field name as written (compare case-insensitively, or use ``lowercasedName``).
    public let name: String
    /// The octets after the colon up to (not including) the final line end, folding included.
    public let rawValue: [UInt8]

    init(name: String, rawValue: [UInt8]) {
        self.name = name
        self.rawValue = rawValue
    }

    public var lowercasedName: String { name.lowercased() }

    /// Unfolded (RFC 5322 §2.2.3: CRLF before WSP removed), read as UTF-8 (RFC 6532), outer whitespace trimmed.
    public var value: String {
        var out: [UInt8] = []
        out.reserveCapacity(rawValue.count)
        var i = 0
        while i < rawValue.count {
            let byte = rawValue[i]
            if byte == 0x0D, rawValue[safe: i + 1] == 0x0A, let next = rawValue[safe: i + 2],
                next == 0x20 || next == 0x09
            {
                i += 2
                continue
            }
            if byte == 0x0A, let next = rawValue[safe: i + 1], next == 0x20 || next == 0x09 {
                i += 1  // bare-LF folding (message stored with LF line ends)
                continue
            }
            out.append(byte)
            i += 1
        }
        return String(decoding: out, as: UTF8.self).trimmingASCIIWhitespace()
    }

    /// The unfolded value with RFC 2047 encoded words decoded (for unstructured fields such as Subject).
    public var decodedValue: String { EncodedWordDecoder.decode(value).text }

    /// True if the unfolded value holds NUL, a bare CR or a bare LF (header injection, RFC 5322 §2.2).
    public var containsControlCharacters: Bool {
        value.unicodeScalars.contains { $0 == "\0" || $0 == "\r" || $0 == "\n" }
    }

    public var description: String { "\(name): <\(rawValue.count) bytes>" }
    /// Name and value in clear. Never for logs.
    public var unredactedDescription: String { "\(name): \(value)" }
}
