import Foundation
import MailBridge
import MailValues
import Testing

struct PGPMIMEMailTests {
    static let ours = try! EmailAddress("beratung@example.org")
    static let client = try! EmailAddress("klient@example.net")

    @Test func protectedHeadersEncryptedWithGPGRoundTripsAsPGPMIME() throws {
        let id = try OutgoingMessageID(domain: "example.org")
        let subject = "Antwort: Grüße aus der Beratung – Termin am Dienstag"
        let body =
            "Liebe Frau Müller,\n.\nHier beginnt eine Zeile mit Punkt. \nUnd eine sehr lange Zeile: "
            + String(repeating: "äöü ", count: 60)
        let inner = try ProtectedHeadersPart(
            subject: subject, from: Self.ours, to: [Self.client], date: Date(), messageID: id, body: body
        ).render()
        let innerSafe = WireCheck.isWireSafe(inner, limit: 78)
        #expect(innerSafe)

        // The inner part parses back with the real subject inside and protected-headers="v1".
        let parsedInner = try MIMEParser().parse(inner)
        #expect(parsedInner.root.contentType.parameters["protected-headers"] == "v1")
        #expect(parsedInner.root.contentType.parameters["charset"] == "utf-8")
        #expect(parsedInner.headers.first("Subject")?.decodedValue == subject)
        #expect(try parsedInner.root.text() == body.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
        let pythonSubject = try PythonMail.inspect(
            inner, "print(msg['Subject']); print(msg.get_param('protected-headers'))")
        #expect(pythonSubject == subject + "\nv1\n")

        // Encrypt with real gpg, wrap per RFC 3156, and classify.
        let armored = try GPGFixture.encryptArmored(inner)
        let keyData = [UInt8]((0..<1200).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let mail = PGPMIMEMail(
            from: Self.ours, to: [Self.client], messageID: id, payload: try ArmoredMessage(armored),
            autocrypt: AutocryptHeader(address: Self.ours, keyData: keyData))
        let bytes = try EncryptedOutgoingMail(mail).bytes
        let outerSafe = WireCheck.isWireSafe(bytes, limit: 78)
        #expect(outerSafe)
        // No line starts with "." (SMTP still dot-stuffs; this is defence in depth, RFC 5321 §4.5.2).
        #expect(!WireCheck.lines(bytes).contains { $0.hasPrefix(".") })
        #expect(!WireCheck.lines(inner).contains { $0.hasPrefix(".") })
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("Grüße") && !text.contains("Müller") && !text.contains("Antwort"))

        let outer = try MIMEParser().parse(bytes)
        #expect(outer.headers.first("Subject")?.value == "...")
        #expect(outer.headers.first("Message-ID")?.value == id.value)
        guard case .pgpMIME(let payload) = MessageClassifier.classify(outer) else {
            Issue.record("builder output is not classified as PGP/MIME")
            return
        }
        let samePayload =
            payload.crlfNormalised()
            == Array(String(decoding: armored, as: UTF8.self).trimmingASCIIWhitespaceForTest().utf8).crlfNormalised()
        #expect(samePayload)

        // Python: structure, protocol parameter, Autocrypt header unfolds to addr + keydata.
        let report = try PythonMail.inspect(
            bytes,
            """
            import base64, re
            parts = list(msg.iter_parts())
            print(msg.get_content_type(), msg.get_param('protocol'), len(parts), len(msg.defects))
            print(parts[0].get_content_type(), parts[0].get_content().decode().strip())
            print(parts[1].get_content_type())
            ac = str(msg['Autocrypt'])
            attrs = dict(a.strip().split('=', 1) for a in ac.split(';'))
            print(attrs['addr'], attrs['prefer-encrypt'], len(base64.b64decode(re.sub(r'\\s', '', attrs['keydata']))))
            """)
        #expect(
            report == """
                multipart/encrypted application/pgp-encrypted 2 0
                application/pgp-encrypted Version: 1
                application/octet-stream
                beratung@example.org mutual 1200

                """)
    }

    @Test(arguments: [
        "Hallo, das ist Klartext.",
        "Text\n-----BEGIN PGP MESSAGE-----\n\nhQEMA\n=abcd\n-----END PGP MESSAGE-----\n",
        "-----BEGIN PGP MESSAGE-----\n\nnot radix64 !!\n-----END PGP MESSAGE-----\n",
        "-----BEGIN PGP MESSAGE-----\n\n\(String(repeating: "A", count: 100))\n-----END PGP MESSAGE-----\n",
    ])
    func armoredMessageRejectsNonArmor(_ text: String) {
        #expect(throws: BuilderError(.invalidArmor)) { try ArmoredMessage(Array(text.utf8)) }
    }

    @Test func autocryptHeaderFolding() {
        let header = AutocryptHeader(
            address: Self.ours, keyData: Array(repeating: 0xAB, count: 3000), preferEncryptMutual: false)
        let lines = header.rendered.components(separatedBy: "\r\n").dropLast()
        #expect(lines.first == "Autocrypt: addr=beratung@example.org; keydata=")
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") && $0.count <= 77 })
        #expect(lines.count == 1 + (4000 + 75) / 76)
        #expect(!"\(header)".contains("beratung"))
    }
}
