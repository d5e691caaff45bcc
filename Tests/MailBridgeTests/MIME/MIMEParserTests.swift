import Foundation
import MailBridge
import MailValues
import Testing

struct MIMEParserTests {
    @Test func parsesPythonMultipartWithAttachmentAndUmlauts() throws {
        let bytes = try PythonMail.build(
            """
            msg = EmailMessage()
            msg["From"] = "Jürgen Müller <j@example.org>"
            msg["To"] = "beratung@example.org"
            msg["Subject"] = "Grüße aus Köln – ein längerer Betreff, der sicher gefaltet und kodiert wird"
            msg.set_content("Hallo, schöne Grüße!\\n")
            msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="Bericht für Frau Weiß.pdf")
            """)
        let message = try MIMEParser().parse(bytes)
        #expect(message.root.contentType.mimeType == "multipart/mixed")
        #expect(
            message.headers.first("subject")?.decodedValue
                == "Grüße aus Köln – ein längerer Betreff, der sicher gefaltet und kodiert wird")
        let parts = message.root.children
        #expect(parts.count == 2)
        #expect(try parts[0].text() == "Hallo, schöne Grüße!\r\n")
        #expect(parts[1].fileName == "Bericht für Frau Weiß.pdf")
        #expect(parts[1].decodedBody == Array("%PDF-1.4 fake".utf8))
        #expect(message.attachments.count == 1)
        // Redacted descriptions: no subject, no file name.
        let shown = "\(message) \(parts) \(message.headers) \(message.headers.fields)"
        #expect(!shown.contains("Köln") && !shown.contains("Bericht") && !shown.contains("j@example.org"))
    }

    @Test func rawBytesOfSignedPartExcludeBoundaryCRLF() throws {
        let bytes = [UInt8].crlf(
            """
            From: a@example.org
            Content-Type: multipart/signed; boundary="BB"; protocol="application/pgp-signature"; micalg=pgp-sha256

            preamble
            --BB
            Content-Type: text/plain

            hello

            --BB
            Content-Type: application/pgp-signature

            SIG
            --BB--

            """)
        let message = try MIMEParser().parse(bytes)
        let signed = message.root.children[0]
        #expect(Array(signed.rawBytes) == .crlf("Content-Type: text/plain\n\nhello\n"))
        #expect(Array(signed.rawBody) == .crlf("hello\n"))
        #expect(Array(message.root.rawBytes) == bytes)
    }

    @Test func lfOnlyMessageParses() throws {
        let raw = Array("From: a@example.org\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n folded\n\nline one\n".utf8)
        let message = try MIMEParser().parse(raw)
        #expect(message.headers.first("Subject")?.decodedValue == "Grüße folded")
        #expect(message.headers.first("Subject")?.containsControlCharacters == false)
        #expect(try message.root.text() == "line one\n")
    }

    @Test func encapsulatedMessageKeepsItsOwnHeaders() throws {
        let raw = try PythonMail.build(
            """
            inner = EmailMessage()
            inner["From"] = "inner@example.org"
            inner["Subject"] = "Innen"
            inner.set_content("inner body\\n")
            msg = EmailMessage()
            msg["From"] = "outer@example.org"
            msg.set_content("see attached")
            msg.add_attachment(inner)
            """)
        let message = try MIMEParser().parse(raw)
        let attached = try #require(message.root.children.last)
        #expect(attached.contentType.mimeType == "message/rfc822")
        guard case .message(let inner) = attached.body else {
            Issue.record("not an encapsulated message")
            return
        }
        #expect(inner.headers.first("Subject")?.value == "Innen")
        #expect(String(decoding: inner.rawBytes, as: UTF8.self).hasPrefix("From: inner@example.org\r\n"))
        #expect(attached.headers.first("Content-Type")?.value == "message/rfc822")
        #expect(try SenderIdentity(headers: inner.headers).address == (try EmailAddress("inner@example.org")))
        #expect(try inner.text() == "inner body\r\n")
        #expect(try SenderIdentity(headers: message.headers).address == (try EmailAddress("outer@example.org")))
    }
}
