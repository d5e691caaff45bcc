import MailBridge
import Testing

struct CharsetTests {
    @Test(arguments: [
        ("utf-8", Charset.utf8), ("UTF8", .utf8), ("us-ascii", .usASCII), ("Latin1", .isoLatin1),
        ("ISO-8859-15", .isoLatin9), ("cp1252", .windows1252), ("Windows-1252", .windows1252),
    ])
    func labels(_ label: String, _ charset: Charset) {
        #expect(Charset(label: label) == charset)
    }

    @Test(arguments: ["utf-7", "iso-2022-jp", "x-unknown", "", "utf-16"])
    func unsupportedLabels(_ label: String) {
        #expect(Charset(label: label) == nil)
    }

    @Test func decodesSingleByteCharsets() {
        let umlauts: [UInt8] = [0xE4, 0xF6, 0xFC, 0xDF, 0xC4]
        #expect(Charset.isoLatin1.decode(umlauts) == "äöüßÄ")
        #expect(Charset.isoLatin9.decode(umlauts + [0xA4]) == "äöüßÄ€")
        #expect(Charset.windows1252.decode([0x80, 0x84, 0x93, 0x94, 0x81]) == "€„“”\u{FFFD}")
        #expect(Charset.usASCII.decode([0x41, 0xE4]) == "A\u{FFFD}")
        #expect(Charset.utf8.decode([0x41, 0xFF]) == "A\u{FFFD}")
    }
}
