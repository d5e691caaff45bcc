import MailBridge
import Testing
@testable import MailBridge

struct CharsetTests {
    @Test(arguments: [
        ("utf-8", Charset.utf8), ("UTF8", .utf8), ("us-ascii", .usASCII), ("Latin1", .isoLatin1),
        ("ISO-8859-15", .isoLatin9), ("cp1252", .windows1252), ("Windows-1252", .windows1252),
        (" iso-8859-1 ", .windows1252),
    ])
    func labels(_ label: String, _ charset: Charset) {
        #expect(Charset(label: label) == charset)
    }

    @Test(arguments: ["utf-7", "x-unknown", "", "utf-32", "ebcdic-cp-us", "x-imap4-modified-utf7", "cp1026"])
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

    /// Every WHATWG encoding decodes a sample the way Python's codec does (an independent implementation).
    @Test(arguments: [
        ("koi8-r", "Здравствуйте, помогите"), ("windows-1251", "Здравствуйте, ґє"),
        ("windows-1250", "Dzień dobry, łódź"),
        ("windows-1254", "Merhaba, şğıİ"), ("windows-1255", "שלום"), ("windows-1256", "مرحبا، کمک پ"),
        ("iso-8859-2", "Dzień dobry"), ("iso-8859-5", "Привет"), ("iso-8859-7", "Καλημέρα"),
        ("iso-8859-9", "Merhaba şğı"), ("shift_jis", "こんにちは、相談"), ("iso-2022-jp", "こんにちは、相談"),
        ("euc-jp", "こんにちは"), ("euc-kr", "안녕하세요"), ("gbk", "你好，咨询"), ("gb18030", "你好€"),
        ("big5", "你好，諮詢"), ("ibm866", "Привет"), ("koi8-u", "Привіт"), ("iso-8859-13", "Labas, ąčę"),
        ("windows-874", "สวัสดี"), ("utf-16le", "Grüße 你好"), ("utf-16be", "Grüße 你好"),
        ("macintosh", "Grüße"), ("x-mac-cyrillic", "Привет"), ("iso-8859-6", "مرحبا"), ("iso-8859-8", "שלום"),
    ])
    func decodesTheWHATWGSet(_ label: String, _ text: String) throws {
        let python = ["x-mac-cyrillic": "mac-cyrillic", "windows-874": "cp874"][label] ?? label
        let encoded = try PythonMail.run(
            "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode('utf-8').encode('\(python)'))",
            input: Array(text.utf8))
        let charset = try #require(Charset(label: label.uppercased()))
        #expect(charset.decode(encoded) == text)
    }

    @Test func everyWHATWGNameIsALabelAndDecodesASCII() throws {
        for name in CharsetLabels.names where !["replacement", "utf-16le", "utf-16be"].contains(name) {
            let charset = try #require(Charset(label: name))
            #expect(charset.decode(Array("Hallo 123".utf8)) == "Hallo 123", "\(name)")
        }
    }

    @Test func malformedInputBecomesReplacementAndDecodingGoesOn() {
        let shiftJIS = Charset(label: "shift_jis")!
        #expect(shiftJIS.decode([0x41, 0x82, 0x42]).hasPrefix("A"))
        #expect(shiftJIS.decode([0x41, 0x82, 0x42]).contains("\u{FFFD}") || shiftJIS.decode([0x41, 0x82, 0x42])
            .unicodeScalars.count == 2)
        #expect(Charset(label: "utf-16le")!.decode([0x41, 0x00, 0x42]) == "A\u{FFFD}")
        #expect(Charset(label: "iso-2022-kr")!.decode(Array("abc".utf8)) == "\u{FFFD}")
    }

    @Test func outputIsCapped() {
        let text = Charset(label: "koi8-r")!.decode([UInt8](repeating: 0xC1, count: 10_000), maximumScalars: 100)
        #expect(text.unicodeScalars.count == 101 && text.hasSuffix("\u{FFFD}"))
    }

    @Test func inlineArmorCharsetIsHonouredAndUndeclaredTextFallsBack() throws {
        let armored = Array("-----BEGIN PGP MESSAGE-----\r\nCharset: KOI8-R\r\n\r\nhQEM\r\n".utf8)
        #expect(InlinePlaintext.utf8([0xF0, 0xD2, 0xC9], armored: armored) == Array("При".utf8))
        let plain = Array("-----BEGIN PGP MESSAGE-----\r\n\r\nhQEM\r\n".utf8)
        #expect(InlinePlaintext.utf8(Array("Grüße".utf8), armored: plain) == Array("Grüße".utf8))
        #expect(InlinePlaintext.utf8([0x47, 0x72, 0xFC, 0xDF, 0x65], armored: plain) == Array("Grüße".utf8))
    }
}
