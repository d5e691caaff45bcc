import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// Issue 16 at the engine boundary: AEAD cut or flipped at every chunk, nested encryption in every wrapping, and
/// a decryption key outside the allowed set. Attack messages are built at test time from real ciphertexts by
/// `Tests/Tools/pgpcraft.py`; each carries a canary that must never come back.
@Suite struct AttackDecryptionTests {
    static let pgpcraft = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/pgpcraft.py").path

    private func craft(_ arguments: [String], allowFailure: Bool = false) throws -> Shell.Result {
        try Shell.run("python3", [Self.pgpcraft] + arguments, allowFailure: allowFailure)
    }

    private func expectNoPlaintext(_ outcome: DecryptionOutcome, canary: String, _ what: String,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        switch outcome {
        case .decrypted(let message):
            Issue.record("\(what): decrypted (\(message.plaintext.count) bytes)", sourceLocation: sourceLocation)
        case .failed(let failure):
            #expect(!"\(failure)".contains(canary), sourceLocation: sourceLocation)
        }
    }

    /// RNP's chunked AEAD (EAX and OCB, 64-octet chunks): intact, cut after every chunk, one bit flipped in every
    /// chunk, every chunk tag and the final tag. GnuPG 2.2.40 reports several of these like an intact message,
    /// so none may yield plaintext.
    @Test(arguments: ["eax", "ocb"])
    func aeadIsNeverDecryptedWhateverWasCutOrFlipped(mode: String) async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("aead-\(mode)@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let rnpHome = fixture.root.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: rnpHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let publicFile = fixture.file("public.gpg")
        try Data(try fixture.clientGPG(["--export"]).stdout).write(to: publicFile)
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", publicFile.path])
        let canary = "CANARY-aead-\(UUID().uuidString.prefix(8))"
        let plaintext = String(repeating: "\(canary) ", count: 12)  // ~300 octets: five 64-octet chunks
        let original = fixture.file("aead.asc")
        try Shell.run("rnp", ["--homedir", rnpHome.path, "--encrypt", "-r", gateway.hex, "--aead=\(mode)",
                              "--aead-chunk-bits", "0", "-z", "0", "--armor", "--output", original.path],
                      stdin: Array(plaintext.utf8))
        let info = try JSONSerialization.jsonObject(with: Data(try craft(["aead-info", original.path]).stdout))
        let chunks = try #require((info as? [String: Any])?["num_chunks"] as? Int)
        #expect(chunks >= 4, "expected several chunks")

        var variants: [(String, [UInt8])] = [("intact", Array(try Data(contentsOf: original)))]
        for count in 0...chunks {
            variants.append(("cut after \(count)", try craft(["aead-cut", "--chunks", "\(count)", original.path]).stdout))
        }
        variants.append(("cut 1 byte", try craft(["aead-cut", "--bytes", "1", original.path]).stdout))
        for index in 0..<chunks {
            variants.append(("flip chunk \(index)", try craft(["aead-flip", "--chunk", "\(index)", original.path]).stdout))
            variants.append(("flip tag \(index)", try craft(["aead-flip", "--tag", "\(index)", original.path]).stdout))
        }
        variants.append(("flip final tag", try craft(["aead-flip", "--final-tag", original.path]).stdout))
        for (what, ciphertext) in variants {
            let outcome = try await fixture.service.decryptAndVerify(ciphertext)
            expectNoPlaintext(outcome, canary: canary, "\(mode) \(what)")
            #expect(outcome.failure == .unsupportedAlgorithm, "\(mode) \(what): \(String(describing: outcome.failure))")
        }
        await fixture.close()
    }

    /// A victim's complete encrypted message (PKESK + SEIPD) as the plaintext of a new message to the same
    /// gateway, raw or compressed (ZIP, ZLIB), or inside a literal data packet: refused, no plaintext.
    @Test func nestedEncryptionIsRefusedInEveryWrapping() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("nested@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let canary = "CANARY-nested-\(UUID().uuidString.prefix(8))"
        let victim = try fixture.clientGPG(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                            "--recipient", gateway.hex], stdin: Array(canary.utf8)).stdout
        // The victim's message itself decrypts.
        #expect(try await fixture.service.decryptAndVerify(victim).message?.plaintext.bytes.text == canary)
        let victimFile = fixture.file("victim.asc")
        try Data(victim).write(to: victimFile)
        // pgpcraft reads the gateway's public key from a GnuPG home that holds it.
        let wrappings: [[String]] = [["--compress", "none"], ["--compress", "zip"], ["--compress", "zlib"],
                                     ["--literal"], ["--literal", "--compress", "zlib"]]
        for wrapping in wrappings {
            let outer = try craft(["nest", "--recipient-home", fixture.clientHome.path, "--recipient", gateway.hex]
                                  + wrapping + [victimFile.path]).stdout
            let outcome = try await fixture.service.decryptAndVerify(outer)
            expectNoPlaintext(outcome, canary: canary, "nested \(wrapping)")
            #expect(outcome.failure == .nestedEncryption, "\(wrapping): \(String(describing: outcome.failure))")
        }
        await fixture.close()
    }

    /// The same message decrypts when its key is allowed, and is "not for us" (no plaintext) when only another
    /// mailbox's key is.
    @Test func onlyTheAllowedKeyMayDecrypt() async throws {
        let fixture = try GnuPGFixture()
        let first = try await fixture.makeGatewayKey("beratung@example.org")
        let second = try await fixture.makeGatewayKey("jugend@example.org")
        let client = try fixture.makeClientKey("iso@example.net")
        try await fixture.exchangeKeys(gateway: first, client: client)
        let canary = "CANARY-iso-\(UUID().uuidString.prefix(8))"
        let toFirst = try fixture.clientGPG(["--armor", "--encrypt", "--recipient", first.hex],
                                            stdin: Array(canary.utf8)).stdout
        #expect(try await fixture.service.decryptAndVerify(toFirst, forKeys: [first]).message?.decryptionKey == first)
        let refused = try await fixture.service.decryptAndVerify(toFirst, forKeys: [second])
        expectNoPlaintext(refused, canary: canary, "other mailbox's key")
        #expect(refused.failure == .noSecretKey)
        await fixture.close()
    }

    /// The same ciphertext in other encodings gives the same session key (what the replay check keys on).
    @Test func reencodedCiphertextHasTheSameSessionKey() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("reenc@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let canary = "CANARY-reenc-\(UUID().uuidString.prefix(8))"
        let original = try fixture.clientGPG(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                              "--recipient", gateway.hex],
                                             stdin: Array(((0..<40).map { _ in UUID().uuidString } + [canary])
                                                .joined(separator: " ").utf8)).stdout
        let file = fixture.file("original.asc")
        try Data(original).write(to: file)
        let first = try #require(try await fixture.service.decryptAndVerify(original).message)
        let key = try #require(first.sessionKey?.material)
        for variant in ["comment", "line76", "nocrc", "crlf", "binary", "marker", "oldheaders", "newheaders",
                        "partial"] {
            let again = try await fixture.service.decryptAndVerify(try craft(["reencode", variant, file.path]).stdout)
            // GnuPG 2.2.40 misreads armor without CRC when the base64 has no padding (it decodes the END line).
            if variant == "nocrc", let failure = again.failure, failure == .notEncrypted || failure == .corrupted {
                continue
            }
            let message = try #require(again.message, "\(variant): \(String(describing: again.failure))")
            #expect(message.sessionKey?.material == key, "\(variant)")
            #expect(message.plaintext == first.plaintext, "\(variant)")
            #expect(message.literalHeader == first.literalHeader, "\(variant)")
        }
        #expect(!"\(first)".contains(canary) && !"\(first.sessionKey!)".contains(String(decoding: key, as: UTF8.self)))
        await fixture.close()
    }
}

/// The status-line rule, on the exact sequences GnuPG 2.2.40 printed for attacks (no gpg needed).
@Suite struct DecryptionStatusLogTests {
    private func log(_ lines: [String]) -> DecryptionStatusLog {
        var log = DecryptionStatusLog()
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1)
            log.observe(keyword: String(parts[0]), arguments: parts.count > 1 ? String(parts[1]) : "")
        }
        return log
    }

    private let key = "DECRYPTION_KEY 1B3F72B6C4C8EE5030BC300926A12F23C3104528 1057A403BAEE58CD7EA8840CF5C507DE67EE15F8 u"

    @Test func cleanDecryptionIsComplete() {
        let clean = log(["ENC_TO 92D132BB1E87DCC2 18 0", key, "BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0",
                         "PLAINTEXT 62 1796477816 ", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"])
        #expect(clean.isCompleteSuccess)
        #expect(clean.integrity == .present)
        #expect(!clean.sawNestedEncryption)
        #expect(clean.decryptionPrimaryKey == "1057A403BAEE58CD7EA8840CF5C507DE67EE15F8")
    }

    @Test func unknownSignerKeyExitIsExplainedBySignatureLines() {
        let lines = ["ENC_TO 92D132BB1E87DCC2 18 0", key, "BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0",
                     "PLAINTEXT 62 1796477816 ", "ERRSIG F5C507DE67EE15F8 22 10 00 1796477888 9 1057A403", 
                     "NO_PUBKEY F5C507DE67EE15F8", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION",
                     "FAILURE gpg-exit 33554433"]
        #expect(log(lines).isCompleteSuccess)
        #expect(!log(lines.filter { !$0.hasPrefix("ERRSIG") && !$0.hasPrefix("NO_PUBKEY") }).isCompleteSuccess)
    }

    @Test(arguments: [
        // Truncated AEAD chunk: NODATA between the usual lines.
        ["BEGIN_DECRYPTION", "DECRYPTION_INFO 0 9 0", "NODATA 3", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"],
        // Nothing decrypted at all.
        ["BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0", "NODATA 2", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"],
        // No END_DECRYPTION.
        ["BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0", "PLAINTEXT 62 0 ", "DECRYPTION_OKAY", "GOODMDC"],
        // An ERROR line (a corrupted first PKESK, then another key).
        ["ERROR pkdecrypt_failed 16777226", "BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0", "PLAINTEXT 62 0 ",
         "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"],
        // Failure with no signature to explain it.
        ["BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0", "PLAINTEXT 62 0 ", "DECRYPTION_OKAY", "GOODMDC",
         "END_DECRYPTION", "FAILURE gpg-exit 33554433"],
        // No integrity mechanism named.
        ["BEGIN_DECRYPTION", "DECRYPTION_INFO 0 9 0", "PLAINTEXT 62 0 ", "DECRYPTION_OKAY", "GOODMDC",
         "END_DECRYPTION"],
    ])
    func doubtfulRunsAreNotSuccess(lines: [String]) {
        #expect(!log([key] + lines).isCompleteSuccess)
    }

    /// The two layers GnuPG 2.2.40 printed for a nested message.
    @Test func nestedLayersAreSeen() {
        let nested = log(["ENC_TO 12A23A3CF48123F7 18 0", key, "BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0",
                          "ENC_TO 252B8B6D7EB7C88C 18 0", key, "BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0",
                          "PLAINTEXT 62 1796477816 inner.txt", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION",
                          "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"])
        #expect(nested.sawNestedEncryption)
        #expect(!nested.isCompleteSuccess)
        // Inner key missing: the inner layer fails, the outer still says okay.
        let half = log(["ENC_TO 12A23A3CF48123F7 18 0", key, "BEGIN_DECRYPTION", "DECRYPTION_INFO 2 9 0",
                        "ENC_TO 252B8B6D7EB7C88C 18 0", "NO_SECKEY 252B8B6D7EB7C88C", "BEGIN_DECRYPTION",
                        "DECRYPTION_FAILED", "END_DECRYPTION", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"])
        #expect(half.sawNestedEncryption)
    }
}

/// The literal-data check and the packet reader on hand-made bytes.
@Suite struct OpenPGPPacketTests {
    @Test(arguments: [
        ("armored", Array("\r\n  -----BEGIN PGP MESSAGE-----\r\n\r\nhQ==".utf8), true),
        ("PKESK v3, new header", [0xC1, 0x0C, 0x03] + [UInt8](repeating: 1, count: 11), true),
        ("PKESK v3, legacy header", [0x84, 0x0C, 0x03] + [UInt8](repeating: 1, count: 11), true),
        ("SEIPD v1 alone (no key packet: nobody can open it)", [0xD2, 0xE9, 0x01] + [UInt8](repeating: 0, count: 600),
         false),
        ("Latin-1 '§' (legacy tag 9, open length)", [0xA7, 0x20, 0x33, 0x35, 0x20, 0x42, 0x74, 0x4D, 0x47], false),
        ("compressed zlib", [0xC8, 0x05, 0x02, 0x78, 0x9C, 0x03, 0x00], true),
        ("marker", [0xCA, 0x03] + Array("PGP".utf8), true),
        ("MIME text", Array("Content-Type: text/plain\r\n\r\nhallo".utf8), false),
        ("UTF-8 Ä at the start", Array("Ärger mit dem Amt".utf8), false),
        ("UTF-8 Ȁ-range lead, not compressed", Array("Ȁbc".utf8), false),
        ("length beyond the data", [0xC1, 0x40, 0x03, 0x00], false),
        ("armored signed text is not a message", Array("-----BEGIN PGP SIGNED MESSAGE-----".utf8), false),
    ] as [(String, [UInt8], Bool)])
    func sniffer(_ name: String, bytes: [UInt8], expected: Bool) {
        #expect(OpenPGPSniffer.looksLikeOpenPGPMessage(prefix: Array(bytes.prefix(OpenPGPSniffer.prefixLength)),
                                                       totalLength: bytes.count) == expected, "\(name)")
    }

    /// A v4 signature with an Intended Recipient Fingerprint and an Issuer Fingerprint, inside a ZLIB
    /// compressed packet with a legacy indeterminate length (as gpg --unwrap emits it).
    @Test func inspectorReadsHashedIntendedRecipientsThroughCompression() throws {
        let recipient = [UInt8](repeating: 0xAB, count: 20), issuer = [UInt8](repeating: 0xCD, count: 20)
        let hashed: [UInt8] = [22, 35, 4] + recipient + [22, 33, 4] + issuer + [5, 2, 0x60, 0, 0, 0]
        let signatureBody: [UInt8] = [4, 0x00, 22, 10, 0, UInt8(hashed.count)] + hashed + [0, 0, 0xAA, 0xBB]
        let signature: [UInt8] = [0xC2, UInt8(signatureBody.count)] + signatureBody
        let literal: [UInt8] = [0xCB, 0x08, 0x62, 0x00, 0, 0, 0, 0] + Array("hi".utf8)
        let compressed = try Shell.run("python3", ["-c", "import sys,zlib;sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))"],
                                       stdin: literal + signature).stdout
        let stream: [UInt8] = [0xA3, 0x02] + compressed  // legacy tag 8, indeterminate length; algorithm 2
        let inspection = try SignedMessageInspector.inspect(stream, limit: 1 << 20)
        #expect(inspection.signatures.count == 1)
        #expect(inspection.signatures.first?.intendedRecipients == [String(repeating: "AB", count: 20)])
        #expect(inspection.signatures.first?.issuerFingerprint == String(repeating: "CD", count: 20))
        #expect(!inspection.containsEncryptedMessage)
        // A PKESK inside the compressed data is another encrypted message.
        let withKeyPacket = try Shell.run("python3", ["-c", "import sys,zlib;sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))"],
                                          stdin: [0xC1, 0x03, 0x03, 0x00, 0x00] + literal).stdout
        #expect(try SignedMessageInspector.inspect([0xA3, 0x02] + withKeyPacket, limit: 1 << 20).containsEncryptedMessage)
        // A compression bomb past the limit is malformed, not a partial result.
        let bomb = try Shell.run("python3", ["-c", "import sys,zlib;sys.stdout.buffer.write(zlib.compress(b'\\xcb\\xff\\x00\\x10\\x00\\x00' + bytes(1<<20)))"]).stdout
        #expect(throws: SignedMessageInspector.Failure.malformed) {
            try SignedMessageInspector.inspect([0xA3, 0x02] + bomb, limit: 1 << 16)
        }
    }
}
