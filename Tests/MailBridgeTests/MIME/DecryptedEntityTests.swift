import Testing
@testable import MailBridge

/// One decision for "is this decrypted payload a MIME entity": whatever the first header field, with or without
/// Content-Type, CRLF or LF; bare inline-PGP text stays text.
@Suite struct DecryptedEntityTests {
    @Test(arguments: [
        "Content-Transfer-Encoding: quoted-printable\nContent-Type: text/plain; charset=utf-8\n\nGr=C3=BC=C3=9Fe\n",
        "Subject: Hilfe\nFrom: k@example.net\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\nGrüße\n",
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nGrüße\n",
        "Subject: Hilfe\nContent-Transfer-Encoding: 8bit\nContent-Type: text/plain; charset=utf-8\n\nGrüße\n",
        "From: k@example.net\nTo: b@example.org\nContent-Type: text/plain; charset=utf-8\n\nGrüße\n",
    ])
    func entitiesWhateverTheFirstFieldAndLineEnds(_ text: String) throws {
        for bytes in [Array(text.utf8), [UInt8].crlf(text)] {
            let message = try #require(DecryptedEntity(bytes).message)
            let part = try #require(message.allParts.first { $0.decodedBody != nil })
            #expect(try part.text().hasPrefix("Grüße"))
            #expect(!(try part.text()).contains(":"))
        }
    }

    @Test func noContentTypeIsTextPlainUSASCIIAndItsSubjectIsRead() throws {
        let message = try #require(DecryptedEntity(.crlf("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\nText\n")).message)
        #expect(message.root.contentType.mimeType == "text/plain")
        #expect(message.root.contentType.parameters["charset"] == "us-ascii")
        #expect(message.headers.first("Subject")?.decodedValue == "Grüße")
    }

    @Test(arguments: [
        "Hallo Frau Müller,\n\nich brauche Hilfe.\n",
        "Hinweis: bitte vertraulich\n\nich brauche Hilfe.\n",
        "Termin: Montag\nOrt: Beratungsstelle\n\nText\n",
        "From me to you\n\nText\n",
        ": leer\n\nText\n",
        "",
    ])
    func bareTextStaysText(_ text: String) {
        guard case .bareText(let bytes) = DecryptedEntity(.crlf(text)) else {
            Issue.record("expected bare text")
            return
        }
        #expect(bytes == .crlf(text))
    }

    @Test func aDeclaredEntityThatDoesNotParseIsRefusedNotText() {
        let nested = String(repeating: "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n", count: 300)
        guard case .unparseable = DecryptedEntity(Array(nested.utf8)) else {
            Issue.record("expected unparseable")
            return
        }
        let huge = "Subject: x\r\n" + String(repeating: "X-Pad: \(String(repeating: "a", count: 900))\r\n", count: 200)
        guard case .unparseable(let error) = DecryptedEntity(Array((huge + "\r\nText").utf8)) else {
            Issue.record("expected unparseable")
            return
        }
        #expect(error == .headerTooLarge)
    }
}
