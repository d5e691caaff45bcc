import Foundation
import MailBridge
import Testing

/// Transfer encodings and charsets of bodies, hand-written and from Python's email package.
struct MIMEBodyDecodingTests {
    private func message(_ headers: String, _ body: [UInt8]) -> [UInt8] {
        .crlf("From: a@example.org\nMIME-Version: 1.0\n\(headers)\n\n") + body
    }

    @Test(arguments: [
        ("iso-8859-1", [0x47, 0x72, 0xFC, 0xDF, 0x65, 0x20, 0xE4, 0xF6] as [UInt8], "Grüße äö"),
        ("iso-8859-15", [0xA4, 0x20, 0xBD], "€ œ"),
        ("windows-1252", [0x84, 0x47, 0x72, 0xFC, 0xDF, 0x65, 0x93, 0x20, 0x80], "„Grüße“ €"),
        ("utf-8", Array("Grüße".utf8), "Grüße"),
    ])
    func eightBitBodies(_ charset: String, _ body: [UInt8], _ expected: String) throws {
        let raw = message(
            "Content-Type: text/plain; charset=\(charset)\nContent-Transfer-Encoding: 8bit", body + [13, 10])
        let part = try MIMEParser().parse(raw).root
        #expect(part.transferEncoding == .eightBit)
        #expect(try part.text() == expected + "\r\n")
    }

    @Test func quotedPrintableLatin1WithSoftBreaks() throws {
        let raw = message(
            "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable",
            .crlf("Gr=FC=DFe aus M=FCnchen, das ist eine lange Zeile, die weich umbrochen wi=\nrd. =E4=F6=FC\n"))
        let part = try MIMEParser().parse(raw).root
        #expect(try part.text() == "Grüße aus München, das ist eine lange Zeile, die weich umbrochen wird. äöü\r\n")
    }

    @Test(arguments: [
        ("iso-8859-1", "Schöne Grüße, Jürgen, 5 ¤ für Öl"),
        ("iso-8859-15", "Schöne Grüße, Jürgen, 5 € für Œl"),
        ("windows-1252", "Schöne Grüße, Jürgen – 5 € für „Öl“"),
        ("utf-8", "Schöne Grüße, Jürgen – 5 € für Öl ✓"),
    ])
    func pythonQuotedPrintableAndBase64(_ charset: String, _ text: String) throws {
        for encoding in ["QP", "BASE64"] {
            let raw = try PythonMail.build(
                """
                cs = _cs.Charset("\(charset)")
                cs.body_encoding = _cs.\(encoding)
                msg = MIMEText("\(text)\\n", "plain", cs)
                msg["From"] = "a@example.org"
                """)
            let part = try MIMEParser().parse(raw).root
            #expect(part.transferEncoding == (encoding == "QP" ? .quotedPrintable : .base64), "\(charset) \(encoding)")
            #expect(try part.text().trimmingCharacters(in: .newlines) == text, "\(charset) \(encoding)")
        }
    }

    @Test func unknownCharsetThrowsUnlessLossy() throws {
        let raw = message("Content-Type: text/plain; charset=x-mystery", Array("hello\r\n".utf8))
        let part = try MIMEParser().parse(raw).root
        #expect(throws: MIMEError.unsupportedCharset) { try part.text() }
        #expect(try part.text(lossy: true) == "hello\r\n")
    }

    @Test func nonTextPartHasNoText() throws {
        let raw = message(
            "Content-Type: application/pdf\nContent-Transfer-Encoding: base64", Array("JVBERi0=\r\n".utf8))
        let part = try MIMEParser().parse(raw).root
        #expect(part.decodedBody == Array("%PDF-".utf8))
        #expect(throws: MIMEError.notText) { try part.text() }
    }

    @Test func missingContentTypeDefaultsToUSASCII() throws {
        let part = try MIMEParser().parse(.crlf("From: a@example.org\n\nhi\n")).root
        #expect(part.contentType.mimeType == "text/plain")
        #expect(part.contentType.parameters["charset"] == "us-ascii")
        #expect(try part.text() == "hi\r\n")
    }
}
