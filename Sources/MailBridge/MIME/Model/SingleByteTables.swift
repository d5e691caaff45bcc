/// The two single-byte charsets decoded in Swift (see ``Charset``); every other one goes through iconv.
enum SingleByteTables {
    /// Windows-1252 0x80–0x9F (Unicode's cp1252 mapping); 0 marks the five undefined positions.
    private static let cp1252High: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E,
        0x0178,
    ]

    static func windows1252(_ byte: UInt8) -> Unicode.Scalar {
        guard (0x80...0x9F).contains(byte) else { return Unicode.Scalar(byte) }
        let value = cp1252High[Int(byte - 0x80)]
        return value == 0 ? "\u{FFFD}" : Unicode.Scalar(value)!
    }

    /// ISO-8859-15 differs from ISO-8859-1 in eight positions (ISO/IEC 8859-15:1999 Annex).
    static func latin9(_ byte: UInt8) -> Unicode.Scalar {
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
