import Foundation
import MailBridge
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
}
