import MailBridge
import Testing

/// Parts with an empty header block. libetpan skips the empty line and reads body lines as header fields;
/// the walker restores RFC 2045 §5.2 / RFC 2046 §5.1.5 defaults.
struct HeaderlessPartTests {
    @Test func headerlessPartIsPlainTextWithItsWholeBody() throws {
        let raw = [UInt8].crlf(
            """
            From: o@example.org
            Content-Type: multipart/mixed; boundary="B"

            --B

            Note: this is body
            Content-Type: application/pgp-encrypted

            rest
            --B--

            """)
        let part = try #require(try MIMEParser().parse(raw).root.children.first)
        #expect(part.headers.isEmpty)
        #expect(part.contentType.mimeType == "text/plain")
        #expect(try part.text() == "Note: this is body\r\nContent-Type: application/pgp-encrypted\r\n\r\nrest")
        #expect(Array(part.rawBytes) == .crlf("\nNote: this is body\nContent-Type: application/pgp-encrypted\n\nrest"))
    }

    @Test func headerlessFirstPartOfSignedKeepsExactBytes() throws {
        let raw = [UInt8].crlf(
            """
            From: a@example.org
            Content-Type: multipart/signed; boundary="BB"; protocol="application/pgp-signature"

            --BB


            two blank lines above
            --BB
            Content-Type: application/pgp-signature

            SIG
            --BB--

            """)
        let signed = try #require(try MIMEParser().parse(raw).root.children.first)
        #expect(Array(signed.rawBytes) == .crlf("\n\ntwo blank lines above"))
        #expect(signed.decodedBody == .crlf("\ntwo blank lines above"))
    }

    @Test func digestPartsWithoutHeadersAreMessages() throws {
        let raw = [UInt8].crlf(
            """
            From: o@example.org
            Content-Type: multipart/digest; boundary="D"

            --D

            From: one@example.org
            Subject: first

            digest one
            --D

            From: two@example.org
            Subject: second
            Content-Type: multipart/alternative; boundary="A"

            --A
            Content-Type: text/plain

            alt text
            --A--

            --D--

            """)
        let parts = try MIMEParser().parse(raw).root.children
        #expect(parts.count == 2)
        guard case .message(let first) = parts[0].body, case .message(let second) = parts[1].body else {
            Issue.record("digest parts are not message/rfc822")
            return
        }
        #expect(parts.allSatisfy { $0.contentType.mimeType == "message/rfc822" && $0.headers.isEmpty })
        #expect(first.headers.first("Subject")?.value == "first")
        #expect(try first.text() == "digest one")
        #expect(second.headers.first("Subject")?.value == "second")
        #expect(second.contentType.mimeType == "multipart/alternative")
        #expect(try second.children.first?.text() == "alt text")
        #expect(String(decoding: second.rawBytes, as: UTF8.self).hasPrefix("From: two@example.org"))
    }
}
