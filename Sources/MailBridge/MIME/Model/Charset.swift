/// The text charsets MailBridge converts to UTF-8 (RFC 2046 §4.1.2 `charset` parameter, RFC 2047 encoded words).
///
/// Written in Swift rather than through libetpan's `charconv` (iconv): iconv accepts hundreds of charsets
/// including stateful ones (UTF-7, ISO-2022) that can hide `<`, `>` or CR/LF from later checks, and its
/// behaviour depends on the installed gconv modules. A closed allow-list with total, table-driven decoders is
/// small, deterministic and testable.
///
/// Decision for anything else: ``init(label:)`` returns nil; body text then throws
/// ``MIMEError/unsupportedCharset`` (the caller may choose ``MIMEPart/text(lossy:)`` to get UTF-8 with
/// U+FFFD instead), and encoded words with an unknown charset stay undecoded (RFC 2047 §6.2 permits that).
public enum Charset: String, Sendable, Hashable, CaseIterable {
    case utf8 = "utf-8"
    case usASCII = "us-ascii"
    /// ISO-8859-1. Decoded as Windows-1252 (its superset in the printable range), as the WHATWG Encoding
    /// Standard does: C1 controls 0x80–0x9F are never meant in mail, cp1252 quotes and € are.
    case isoLatin1 = "iso-8859-1"
    case isoLatin9 = "iso-8859-15"
    case windows1252 = "windows-1252"

    /// Maps a charset label (case-insensitive, with common aliases) to a supported charset.
    public init?(label: String) {
        let key = label.trimmingASCIIWhitespace().lowercased()
        switch key {
        case "utf-8", "utf8": self = .utf8
        case "us-ascii", "ascii", "ansi_x3.4-1968", "us": self = .usASCII
        case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "iso-ir-100", "cp819":
            self = .isoLatin1
        case "iso-8859-15", "iso8859-15", "iso_8859-15", "latin-9", "latin9", "l9": self = .isoLatin9
        case "windows-1252", "cp1252", "x-cp1252", "win-1252": self = .windows1252
        default: return nil
        }
    }

    /// Converts bytes to a Swift string. Total: malformed UTF-8 and undefined code points become U+FFFD.
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        switch self {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .usASCII:
            return String(String.UnicodeScalarView(bytes.map { $0 < 0x80 ? Unicode.Scalar($0) : "\u{FFFD}" }))
        case .isoLatin1, .windows1252:
            return String(String.UnicodeScalarView(bytes.map(Self.windows1252Scalar)))
        case .isoLatin9:
            return String(String.UnicodeScalarView(bytes.map(Self.latin9Scalar)))
        }
    }

    /// Windows-1252 0x80–0x9F (Unicode's cp1252 mapping); 0 marks the five undefined positions.
    private static let cp1252High: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E,
        0x0178,
    ]

    private static func windows1252Scalar(_ byte: UInt8) -> Unicode.Scalar {
        guard (0x80...0x9F).contains(byte) else { return Unicode.Scalar(byte) }
        let value = cp1252High[Int(byte - 0x80)]
        return value == 0 ? "\u{FFFD}" : Unicode.Scalar(value)!
    }

    /// ISO-8859-15 differs from ISO-8859-1 in eight positions (ISO/IEC 8859-15:1999 Annex).
    private static func latin9Scalar(_ byte: UInt8) -> Unicode.Scalar {
        switch byte {
        case 0xA4: "\u{20AC}"
        case 0xA6: "\u{0160}"
        case 0xA8: "\u{0161}"
        case 0xB4: "\u{017D}"
        case 0xB8: "\u{017E}"
        case 0xBC: "\u{0152}"
        case 0xBD: "\u{0153}"
        case 0xBE: "\u{0178}"
        case 0x80...0x9F: "\u{FFFD}"
        default: Unicode.Scalar(byte)
        }
    }
}
