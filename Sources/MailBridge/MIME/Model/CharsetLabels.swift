/// The WHATWG Encoding Standard's label table (https://encoding.spec.whatwg.org/#names-and-labels,
/// encodings.json) and, per encoding, the one decoder allowed for it: Swift for utf-8, windows-1252 and
/// iso-8859-15, otherwise the glibc iconv name whose mapping matches the WHATWG index (windows-31j for
/// Shift_JIS, windows-949 for EUC-KR, gb18030 for GBK, Big5-HKSCS for Big5, as the standard specifies).
enum CharsetLabels {
    /// (WHATWG name, decoder, labels).
    private static let table: [(String, Charset.Decoder, [String])] = [
        ("utf-8", .utf8, ["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"]),
        ("ibm866", .iconv("IBM866"), ["866", "cp866", "csibm866", "ibm866"]),
        ("iso-8859-2", .iconv("ISO-8859-2"), iso(2, extra: ["csisolatin2", "iso-ir-101", "iso_8859-2:1987", "l2",
                                                              "latin2"])),
        ("iso-8859-3", .iconv("ISO-8859-3"), iso(3, extra: ["csisolatin3", "iso-ir-109", "iso_8859-3:1988", "l3",
                                                              "latin3"])),
        ("iso-8859-4", .iconv("ISO-8859-4"), iso(4, extra: ["csisolatin4", "iso-ir-110", "iso_8859-4:1988", "l4",
                                                              "latin4"])),
        ("iso-8859-5", .iconv("ISO-8859-5"), iso(5, extra: ["csisolatincyrillic", "cyrillic", "iso-ir-144",
                                                              "iso_8859-5:1988"])),
        ("iso-8859-6", .iconv("ISO-8859-6"), iso(6, extra: ["arabic", "asmo-708", "csiso88596e", "csiso88596i",
                                                              "csisolatinarabic", "ecma-114", "iso-8859-6-e",
                                                              "iso-8859-6-i", "iso-ir-127", "iso_8859-6:1987"])),
        ("iso-8859-7", .iconv("ISO-8859-7"), iso(7, extra: ["csisolatingreek", "ecma-118", "elot_928", "greek",
                                                              "greek8", "iso-ir-126", "iso_8859-7:1987",
                                                              "sun_eu_greek"])),
        ("iso-8859-8", .iconv("ISO-8859-8"), iso(8, extra: ["csiso88598e", "csisolatinhebrew", "hebrew",
                                                              "iso-8859-8-e", "iso-ir-138", "iso_8859-8:1988",
                                                              "visual"])),
        ("iso-8859-8-i", .iconv("ISO-8859-8"), ["csiso88598i", "iso-8859-8-i", "logical"]),
        ("iso-8859-10", .iconv("ISO-8859-10"), ["csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10",
                                                "iso885910", "l6", "latin6"]),
        ("iso-8859-13", .iconv("ISO-8859-13"), ["iso-8859-13", "iso8859-13", "iso885913"]),
        ("iso-8859-14", .iconv("ISO-8859-14"), ["iso-8859-14", "iso8859-14", "iso885914"]),
        ("iso-8859-15", .latin9, ["csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"]),
        ("iso-8859-16", .iconv("ISO-8859-16"), ["iso-8859-16"]),
        ("koi8-r", .iconv("KOI8-R"), ["cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"]),
        ("koi8-u", .iconv("KOI8-U"), ["koi8-ru", "koi8-u"]),
        ("macintosh", .iconv("MACINTOSH"), ["csmacintosh", "mac", "macintosh", "x-mac-roman"]),
        ("windows-874", .iconv("CP874"), ["dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620",
                                          "windows-874"]),
        ("windows-1250", .iconv("CP1250"), windows(1250)),
        ("windows-1251", .iconv("CP1251"), windows(1251)),
        ("windows-1252", .windows1252, ["ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819",
                                        "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1",
                                        "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252",
                                        "x-cp1252"]),
        ("windows-1253", .iconv("CP1253"), windows(1253)),
        ("windows-1254", .iconv("CP1254"), windows(1254) + ["csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9",
                                                             "iso88599", "iso_8859-9", "iso_8859-9:1989", "l5",
                                                             "latin5"]),
        ("windows-1255", .iconv("CP1255"), windows(1255)),
        ("windows-1256", .iconv("CP1256"), windows(1256)),
        ("windows-1257", .iconv("CP1257"), windows(1257)),
        ("windows-1258", .iconv("CP1258"), windows(1258)),
        ("x-mac-cyrillic", .iconv("MAC-CYRILLIC"), ["x-mac-cyrillic", "x-mac-ukrainian"]),
        ("gbk", .iconv("GB18030"), ["chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80",
                                    "gbk", "iso-ir-58", "x-gbk"]),
        ("gb18030", .iconv("GB18030"), ["gb18030"]),
        ("big5", .iconv("BIG5-HKSCS"), ["big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"]),
        ("euc-jp", .iconv("EUC-JP"), ["cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"]),
        ("iso-2022-jp", .iconv("ISO-2022-JP"), ["csiso2022jp", "iso-2022-jp"]),
        ("shift_jis", .iconv("CP932"), ["csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis",
                                        "windows-31j", "x-sjis"]),
        ("euc-kr", .iconv("CP949"), ["cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987",
                                     "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949"]),
        ("replacement", .replacement, ["csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext",
                                       "iso-2022-kr"]),
        ("utf-16be", .iconv("UTF-16BE"), ["unicodefffe", "utf-16be"]),
        ("utf-16le", .iconv("UTF-16LE"), ["csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff",
                                          "utf-16", "utf-16le"]),
        ("x-user-defined", .userDefined, ["x-user-defined"]),
    ]

    private static func iso(_ part: Int, extra: [String]) -> [String] {
        ["iso-8859-\(part)", "iso8859-\(part)", "iso8859\(part)", "iso_8859-\(part)"] + extra
    }

    private static func windows(_ page: Int) -> [String] { ["cp\(page)", "windows-\(page)", "x-cp\(page)"] }

    private static let byLabel: [String: Charset] = {
        var map: [String: Charset] = [:]
        for (name, decoder, labels) in table {
            for label in labels { map[label] = Charset(name: name, decoder: decoder) }
        }
        return map
    }()

    /// The charset for a lower-cased, trimmed label; nil outside the table.
    static func charset(for label: String) -> Charset? { byLabel[label] }

    /// Every WHATWG encoding name in the table (for tests).
    static var names: [String] { table.map(\.0) }
}
