import Foundation
import MailBridge
import Testing

/// Every shape of ``MessageClassifier``, with real gpg output wrapped by Python's email package and by hand.
struct MessageClassifierTests {
    static func armor() throws -> String { String(decoding: try GPGFixture.shared.get(), as: UTF8.self) }

    static func classify(_ raw: [UInt8]) throws -> MessageShape {
        MessageClassifier.classify(try MIMEParser().parse(raw))
    }

    static func pythonPGPMIME(_ armor: String) throws -> [UInt8] {
        try PythonMail.build(
            """
            msg = MIMEMultipart("encrypted", protocol="application/pgp-encrypted")
            msg.attach(MIMEApplication("Version: 1\\n", "pgp-encrypted", _encoder=encode_7or8bit))
            msg.attach(MIMEApplication(stdin.decode(), "octet-stream", _encoder=encode_7or8bit))
            msg["From"] = "klient@example.org"
            msg["Subject"] = "..."
            """, input: Array(armor.utf8))
    }

    /// A single-part message with the given Content-Type and body (LF → CRLF).
    static func single(_ type: String, _ body: String) -> [UInt8] {
        .crlf("From: k@example.org\nMIME-Version: 1.0\nContent-Type: \(type)\n\n\(body)")
    }

    /// multipart/`subtype` from raw part texts.
    static func multipart(_ subtype: String, params: String = "", _ parts: [String]) -> [UInt8] {
        var raw =
            "From: k@example.org\nMIME-Version: 1.0\nContent-Type: multipart/\(subtype); boundary=\"=_b\"\(params)\n\n"
        for part in parts { raw += "--=_b\n\(part)\n" }
        return .crlf(raw + "--=_b--\n")
    }

    static func encryptedParts(_ armor: String) -> [String] {
        [
            "Content-Type: application/pgp-encrypted\n\nVersion: 1\n",
            "Content-Type: application/octet-stream\n\n\(armor)",
        ]
    }

    // MARK: accepted shapes

    @Test func pgpMIMEFromGPGAndPython() throws {
        let armor = try Self.armor()
        let shape = try Self.classify(try Self.pythonPGPMIME(armor))
        let expected = Array(armor.trimmingASCIIWhitespaceForTest().utf8).crlfNormalised()
        guard case .pgpMIME(let payload) = shape else {
            Issue.record("expected pgpMIME, got \(shape)")
            return
        }
        #expect(payload.crlfNormalised() == expected)
        #expect("\(shape)".hasPrefix("pgpMIME(") && !"\(shape)".contains("BEGIN"))
    }

    @Test func pgpMIMEHandWritten() throws {
        let raw = Self.multipart(
            "encrypted", params: "; protocol=\"application/pgp-encrypted\"", Self.encryptedParts(try Self.armor()))
        guard case .pgpMIME = try Self.classify(raw) else {
            Issue.record("not pgpMIME")
            return
        }
    }

    @Test(arguments: ["7or8bit", "QP", "BASE64"])
    func inlinePGPInPlainTextBody(_ encoding: String) throws {
        let armor = try Self.armor()
        let setup =
            encoding == "7or8bit"
            ? "msg = MIMEText(\"\\n\\n\" + stdin.decode() + \"\\n  \\n\", \"plain\", \"us-ascii\")"
            : "cs = _cs.Charset(\"utf-8\"); cs.body_encoding = _cs.\(encoding); msg = MIMEText(stdin.decode(), \"plain\", cs)"
        let raw = try PythonMail.build(setup + "\nmsg[\"From\"] = \"k@example.org\"", input: Array(armor.utf8))
        guard case .inlinePGP(let armored) = try Self.classify(raw) else {
            Issue.record("not inline")
            return
        }
        #expect(armored.crlfNormalised() == Array(armor.trimmingASCIIWhitespaceForTest().utf8).crlfNormalised())
    }

    @Test(arguments: [
        single("text/plain", "Hallo, ganz normal.\n"),
        multipart("alternative", ["Content-Type: text/plain\n\nhi", "Content-Type: text/html\n\n<p>hi</p>"]),
        single(
            "text/plain",
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nsigned only\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
        ),
        multipart(
            "mixed",
            [
                "Content-Type: text/plain\n\nmy key",
                "Content-Type: application/pgp-keys; name=\"key.asc\"\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----",
            ]),
        multipart(
            "mixed",
            [
                "Content-Type: text/plain\n\nmein Schlüssel",
                "Content-Type: application/pgp-keys; name=\"key.gpg\"\nContent-Transfer-Encoding: base64\n\nmQINBF==",
            ]),
        multipart(
            "signed", params: "; protocol=\"application/pkcs7-signature\"",
            ["Content-Type: text/plain\n\nsigned plain", "Content-Type: application/pkcs7-signature\n\nAAAA"]),
    ])
    func plainMail(_ raw: [UInt8]) throws {
        #expect(try Self.classify(raw) == .plain)
    }

    // MARK: quarantine

    @Test func textAroundArmor() throws {
        let armor = try Self.armor()
        #expect(try Self.classify(Self.single("text/plain", "Hallo!\n\(armor)")) == .quarantine(.textAroundArmor))
        #expect(try Self.classify(Self.single("text/plain", "\(armor)\nGruß")) == .quarantine(.textAroundArmor))
    }

    @Test func multipleArmorBlocks() throws {
        let armor = try Self.armor()
        #expect(try Self.classify(Self.single("text/plain", armor + "\n" + armor)) == .quarantine(.multipleArmorBlocks))
    }

    @Test func malformedArmor() throws {
        let truncated = String(try Self.armor().split(separator: "\n").dropLast(2).joined(separator: "\n"))
        #expect(try Self.classify(Self.single("text/plain", truncated + "\n")) == .quarantine(.malformedArmor))
    }

    @Test func armorInHTML() throws {
        let armor = try Self.armor()
        #expect(try Self.classify(Self.single("text/html", "<pre>\n\(armor)</pre>\n")) == .quarantine(.armorInHTML))
        let alternative = Self.multipart(
            "alternative", ["Content-Type: text/plain\n\nsee html", "Content-Type: text/html\n\n<pre>\n\(armor)</pre>"])
        #expect(try Self.classify(alternative) == .quarantine(.armorInHTML))
    }

    @Test func encryptedPartNested() throws {
        let armor = try Self.armor()
        let inMixed = Self.multipart(
            "mixed", ["Content-Type: text/plain\n\nHallo", "Content-Type: text/plain\n\n\(armor)"])
        #expect(try Self.classify(inMixed) == .quarantine(.encryptedPartNested))

        let ascAttachment = Self.multipart(
            "mixed",
            [
                "Content-Type: text/plain\n\nsiehe Anhang",
                "Content-Type: application/octet-stream; name=\"msg.asc\"\n\n\(armor)",
            ])
        #expect(try Self.classify(ascAttachment) == .quarantine(.encryptedPartNested))

        let pgpMIME = String(decoding: try Self.pythonPGPMIME(armor), as: UTF8.self)
        let mixedAroundPGPMIME = Self.multipart(
            "mixed", ["Content-Type: text/plain\n\nunverschlüsselt", pgpMIME.headerlessFromStripped()])
        #expect(try Self.classify(mixedAroundPGPMIME) == .quarantine(.encryptedPartNested))

        let forwarded = Self.multipart(
            "mixed", ["Content-Type: text/plain\n\nfwd", "Content-Type: message/rfc822\n\n\(pgpMIME)"])
        #expect(try Self.classify(forwarded) == .quarantine(.encryptedPartNested))
    }

    @Test func encryptedAttachment() throws {
        let binary = Self.multipart(
            "mixed",
            [
                "Content-Type: text/plain\n\nsiehe Anhang",
                "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"brief.txt.gpg\"\nContent-Transfer-Encoding: base64\n\nhQEMA0==\n",
            ])
        #expect(try Self.classify(binary) == .quarantine(.encryptedAttachment))
        let topLevelOctets = Self.single("application/octet-stream", try Self.armor())
        #expect(try Self.classify(topLevelOctets) == .quarantine(.encryptedAttachment))
    }

    @Test func sMIME() throws {
        let enveloped = Self.single(
            "application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"", "MIAGCSqGSIb3DQEHA6CAMIACAQAx\n")
        #expect(try Self.classify(enveloped) == .quarantine(.sMIME))
        let xType = Self.single("application/x-pkcs7-mime", "MIAG\n")
        #expect(try Self.classify(xType) == .quarantine(.sMIME))
        let signedAroundPGP = Self.multipart(
            "signed", params: "; protocol=\"application/pkcs7-signature\"",
            [
                "Content-Type: text/plain\n\n\(try Self.armor())", "Content-Type: application/pkcs7-signature\n\nAAAA",
            ])
        #expect(try Self.classify(signedAroundPGP) == .quarantine(.sMIME))
    }

    @Test func malformedMultipartEncrypted() throws {
        let armor = try Self.armor()
        let proto = "; protocol=\"application/pgp-encrypted\""
        let parts = Self.encryptedParts(armor)
        let cases: [[UInt8]] = [
            Self.multipart("encrypted", params: proto, parts + ["Content-Type: text/plain\n\nextra"]),
            Self.multipart("encrypted", params: proto, [parts[1], parts[0]]),
            Self.multipart(
                "encrypted", params: proto, ["Content-Type: application/pgp-encrypted\n\nVersion: 2\n", parts[1]]),
            Self.multipart(
                "encrypted", params: proto, [parts[0], "Content-Type: application/octet-stream\n\nnot armored"]),
            Self.multipart(
                "encrypted", params: proto, [parts[0], "Content-Type: application/octet-stream\n\nHallo\n\(armor)"]),
            Self.multipart("encrypted", params: proto, [parts[0]]),
            Self.multipart("encrypted", parts),
        ]
        for raw in cases {
            #expect(try Self.classify(raw) == .quarantine(.malformedMultipartEncrypted))
        }
    }

    @Test func unsupportedEncryptionProtocol() throws {
        let raw = Self.multipart(
            "encrypted", params: "; protocol=\"application/x-other\"", Self.encryptedParts(try Self.armor()))
        #expect(try Self.classify(raw) == .quarantine(.unsupportedEncryptionProtocol))
    }

    @Test func messagePartial() throws {
        let raw = Self.single("message/partial; id=\"abc@example.org\"; number=1; total=2", "part one\n")
        #expect(try Self.classify(raw) == .quarantine(.messagePartial))
    }
}

extension String {
    func trimmingASCIIWhitespaceForTest() -> String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(
            String.UnicodeScalarView(
                scalars.reversed().drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }.reversed()))
    }

    /// A serialised message as a MIME part: drops the From line, keeps the rest (headers + body).
    func headerlessFromStripped() -> String {
        replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("From:") }.joined(separator: "\n")
    }
}

extension Array where Element == UInt8 {
    /// CRLF → LF for comparisons across producers.
    func crlfNormalised() -> [UInt8] {
        var out: [UInt8] = []
        for (i, b) in enumerated() where !(b == 0x0D && i + 1 < count && self[i + 1] == 0x0A) { out.append(b) }
        return out
    }
}
