import MailBridge
import Testing

/// RFC 2231 parameters and file names.
struct ParameterTests {
    private func part(_ headers: String) throws -> MIMEPart {
        let raw = [UInt8].crlf(
            """
            From: a@example.org
            Content-Type: multipart/mixed; boundary=XX

            --XX
            \(headers)

            data
            --XX--

            """)
        return try #require(try MIMEParser().parse(raw).root.children.first)
    }

    @Test func continuationsWithCharset() throws {
        let p = try part(
            """
            Content-Type: application/octet-stream
            Content-Disposition: attachment;
             filename*0*=UTF-8''Bericht%20f%C3%BCr;
             filename*1*=%20Frau%20Wei%C3%9F;
             filename*2=".pdf"
            """)
        #expect(p.fileName == "Bericht für Frau Weiß.pdf")
        #expect(p.isAttachment)
    }

    @Test func sectionsOutOfOrderAreSorted() throws {
        let p = try part("Content-Type: text/plain; name*1=\"b.txt\"; name*0=\"a-\"")
        #expect(p.fileName == "a-b.txt")
    }

    @Test func gapStopsAssembly() throws {
        let p = try part("Content-Type: text/plain; name*0=\"a\"; name*2=\"c\"")
        #expect(p.fileName == "a")
    }

    @Test func latin1ExtendedValue() throws {
        let p = try part(
            "Content-Type: text/plain; charset=us-ascii\nContent-Disposition: attachment; filename*=iso-8859-1'de'M%FCller.txt"
        )
        #expect(p.fileName == "Müller.txt")
    }

    @Test func extendedValueWinsOverPlain() throws {
        let p = try part("Content-Type: text/plain; name=\"fallback.txt\"; name*=utf-8''%C3%A9t%C3%A9.txt")
        #expect(p.fileName == "été.txt")
    }

    @Test func encodedWordInQuotedFilename() throws {
        let p = try part("Content-Type: application/pdf; name=\"=?utf-8?q?Gr=C3=BC=C3=9Fe.pdf?=\"")
        #expect(p.fileName == "Grüße.pdf")
    }

    @Test func pythonWritesLongNonASCIIFilename() throws {
        let name = "Sehr langer Dateiname mit Umlauten äöü und noch viel mehr Text, damit er umbrochen wird.pdf"
        let raw = try PythonMail.build(
            """
            msg = EmailMessage()
            msg["From"] = "a@example.org"
            msg.set_content("x")
            msg.add_attachment(b"data", maintype="application", subtype="pdf", filename="\(name)")
            """)
        let message = try MIMEParser().parse(raw)
        #expect(message.attachments.map(\.fileName) == [name])
        #expect(!"\(message.attachments)".contains("Umlauten"))
    }
}
