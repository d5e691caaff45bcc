/// A text charset MailBridge converts to UTF-8 (RFC 2046 §4.1.2 `charset` parameter, RFC 2047 encoded words,
/// RFC 2231 parameter values, an inline-PGP armor `Charset:` header).
///
/// The set is exactly the encodings of the WHATWG Encoding Standard (what browsers decode), reached through its
/// label table (``CharsetLabels``); anything else, UTF-7 in particular, has no `Charset` and stays refused.
/// UTF-8, windows-1252 (also for the `iso-8859-1` labels, as WHATWG does: cp1252 quotes and € are meant in mail,
/// C1 controls never) and ISO-8859-15 are decoded in Swift; every other one by glibc's iconv
/// (``IconvDecoder``), named by the allow-list, never by the label the message chose.
///
/// Why the closed list: iconv knows hundreds of charsets whose behaviour depends on the installed gconv modules.
/// Stateful ones outside WHATWG (UTF-7's `+ADw-`, ISO-2022-KR/CN, HZ) can spell `<`, `>` or CR/LF in octets that
/// look like something else, so any check done on the octets before decoding is fooled, and mail clients disagree
/// about them. ISO-2022-JP is stateful too but is safe here: its escape sequences only switch between ASCII,
/// JIS X 0201 and JIS X 0208, whose two-octet characters decode to CJK and full-width forms, never to ASCII
/// markup or line ends; and MailBridge never checks decoded text at octet level: decoded text is only ever shown
/// escaped (HTML.swift, ``DisplayText``), so an escape sequence cannot smuggle anything past a check.
/// The WHATWG "replacement" labels (ISO-2022-KR/CN, HZ) decode to one U+FFFD, as browsers do.
///
/// Deviation from WHATWG: `us-ascii` (the RFC 2045 §5.2 default) stays strict ASCII, octets ≥ 0x80 become
/// U+FFFD (as Python's `email` package does), instead of WHATWG's windows-1252.
public struct Charset: Sendable, Hashable, CustomStringConvertible {
    /// The WHATWG encoding name (`windows-1251`, `shift_jis`), or `us-ascii`.
    public let name: String
    let decoder: Decoder

    enum Decoder: Sendable, Hashable {
        case utf8, usASCII, windows1252, latin9, replacement, userDefined
        /// glibc iconv, by the allow-listed glibc name.
        case iconv(String)
    }

    init(name: String, decoder: Decoder) {
        self.name = name
        self.decoder = decoder
    }

    public static let utf8 = Charset(name: "utf-8", decoder: .utf8)
    public static let usASCII = Charset(name: "us-ascii", decoder: .usASCII)
    public static let windows1252 = Charset(name: "windows-1252", decoder: .windows1252)
    /// ISO-8859-1 labels decode as windows-1252 (WHATWG).
    public static let isoLatin1 = windows1252
    public static let isoLatin9 = Charset(name: "iso-8859-15", decoder: .latin9)

    /// Maps a charset label (case-insensitive, outer whitespace ignored) through the WHATWG label table.
    public init?(label: String) {
        let key = label.trimmingASCIIWhitespace().lowercased()
        if key == "us-ascii" || key == "ascii" || key == "ansi_x3.4-1968" || key == "us" {
            self = .usASCII
            return
        }
        guard let charset = CharsetLabels.charset(for: key) else { return nil }
        self = charset
    }

    /// Converts bytes to a Swift string. Total: malformed input and undefined code points become U+FFFD. The
    /// result holds at most `maximumScalars` Unicode scalars (more ends in U+FFFD); the MIME limits bound the
    /// input, this bounds what a decoder can make of it.
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes, maximumScalars: Int = 16 << 20) -> String {
        let text: String
        switch decoder {
        case .utf8: text = String(decoding: bytes, as: UTF8.self)
        case .usASCII:
            text = String(String.UnicodeScalarView(bytes.map { $0 < 0x80 ? Unicode.Scalar($0) : "\u{FFFD}" }))
        case .windows1252: text = String(String.UnicodeScalarView(bytes.map(SingleByteTables.windows1252)))
        case .latin9: text = String(String.UnicodeScalarView(bytes.map(SingleByteTables.latin9)))
        case .replacement: text = bytes.isEmpty ? "" : "\u{FFFD}"
        case .userDefined:
            // WHATWG x-user-defined: 0x80–0xFF map to U+F780–U+F7FF.
            text = String(String.UnicodeScalarView(bytes.map {
                $0 < 0x80 ? Unicode.Scalar($0) : Unicode.Scalar(0xF700 + UInt32($0))!
            }))
        case .iconv(let glibcName):
            text = IconvDecoder.decode(Array(bytes), from: glibcName, maximumOutputBytes: maximumScalars * 4)
        }
        guard text.unicodeScalars.count > maximumScalars else { return text }
        var cut = String(String.UnicodeScalarView(text.unicodeScalars.prefix(maximumScalars)))
        cut.unicodeScalars.append("\u{FFFD}")
        return cut
    }

    public var description: String { name }
}
