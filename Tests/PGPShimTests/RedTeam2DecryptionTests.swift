import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// Second red-team pass on the byte-level armor decoder of the outer-packet check (``CiphertextShape``). Each test
/// asserts the SAFE behaviour; `// BREAK:` marks a test that fails while the defect is there.
@Suite struct RedTeam2DecryptionTests {
    private func write(_ fixture: GnuPGFixture, _ name: String, _ bytes: [UInt8]) throws -> String {
        let url = fixture.file(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// An rnp AEAD (OCB) message to the gateway and a gpg SEIPD v1 message, both armored.
    private func messages(_ fixture: GnuPGFixture, gateway: KeyFingerprint,
                          text: String) throws -> (aead: String, seipd: String) {
        let rnpHome = fixture.root.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: rnpHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let publicFile = try write(fixture, "public.gpg", try fixture.clientGPG(["--export"]).stdout)
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", publicFile])
        let aead = fixture.file("aead.asc")
        try Shell.run("rnp", ["--homedir", rnpHome.path, "--encrypt", "-r", gateway.hex, "--aead=ocb", "-z", "0",
                              "--armor", "--output", aead.path], stdin: Array(text.utf8))
        let seipd = try fixture.clientGPG(["--armor", "--encrypt", "--recipient", gateway.hex],
                                          stdin: Array("decoy\n".utf8)).stdout
        return (try String(contentsOf: aead, encoding: .utf8), String(decoding: seipd, as: UTF8.self))
    }

    /// A decoy armor block that gpg does not take for armor (its BEGIN line does not start the line, or has text
    /// after the dashes), holding a harmless SEIPD v1 message, followed by the real block: AEAD.
    private func decoyed(_ decoy: String, _ real: String, beginLine: String) -> [UInt8] {
        var lines = decoy.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[0] = beginLine
        return Array((lines.joined(separator: "\n") + "\n" + real).utf8)
    }

    // BREAK (outer-packet check only; the status-line rule still refuses): CiphertextShape.binaryPackets takes the
    // first occurrence of "-----BEGIN PGP MESSAGE-----" anywhere in the input (CiphertextShape.swift:115), while
    // gpg accepts an armor BEGIN line only at the start of a line with nothing but white space after the dashes.
    // A decoy block ("X-----BEGIN PGP MESSAGE-----" or "-----BEGIN PGP MESSAGE----- x") holding a SEIPD v1 message
    // makes the check see SEIPD v1, and gpg decrypts the AEAD block after it: GnuPG 2.2.40 prints
    // `DECRYPTION_INFO 0 9 0`, which the status-line rule refuses. AEAD with a forged final tag is thus refused by
    // one defence, not two.
    @Test(arguments: ["X-----BEGIN PGP MESSAGE-----", "-----BEGIN PGP MESSAGE----- decoy",
                      " -----BEGIN PGP MESSAGE-----x"])
    func decoyArmorBlockDoesNotHideAEADFromTheOuterCheck(_ beginLine: String) async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("decoy@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let canary = "CANARY-decoy-\(UUID().uuidString.prefix(8))"
        let (aead, seipd) = try messages(fixture, gateway: gateway, text: String(repeating: "\(canary) ", count: 8))
        let input = decoyed(seipd, aead, beginLine: beginLine)
        let outcome = try await fixture.service.decryptAndVerify(input)
        if case .decrypted(let message) = outcome {
            Issue.record("decrypted \(message.plaintext.count) bytes behind a decoy block")
        }
        #expect(CiphertextShape.of(input) != .integrityProtected, "the outer check read the decoy block")
        await fixture.close()
    }

    /// Armor shapes legitimate clients write (openpgp.js without checksum and with a Comment header, CRLF,
    /// 76-column lines, a blank line of spaces, trailing white space on the BEGIN line) decrypt; odd ones that gpg
    /// may read differently (CR-only line ends, headers not ended by an empty line, '=' inside the base64, a second
    /// block after the first) never give plaintext other than the message's own.
    @Test func armorVariantsDecryptOrAreRefusedConsistently() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("armor@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let text = "armor-\(UUID().uuidString)\n"
        let armored = String(decoding: try fixture.clientGPG(["--armor", "--encrypt", "--recipient", gateway.hex],
                                                             stdin: Array(text.utf8)).stdout, as: UTF8.self)
        let lines = armored.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let body = lines.dropFirst(2).filter { !$0.isEmpty }.prefix(while: { !$0.hasPrefix("=") && !$0.hasPrefix("-----END") })
        let checksum = lines.first(where: { $0.hasPrefix("=") }) ?? ""
        let joined = body.joined()
        func block(_ header: [String], _ bodyLines: [String], crc: Bool = true, end: String = "\n") -> String {
            (["-----BEGIN PGP MESSAGE-----"] + header + bodyLines + (crc ? [checksum] : []) + ["-----END PGP MESSAGE-----"])
                .joined(separator: end) + end
        }
        func columns(_ width: Int) -> [String] {
            stride(from: 0, to: joined.count, by: width).map {
                String(joined.dropFirst($0).prefix(width))
            }
        }
        let legitimate: [(String, String)] = [
            ("openpgp.js: Comment header, no checksum", block(["Comment: https://openpgpjs.org", ""], Array(body), crc: false)),
            ("CRLF", block([""], Array(body), end: "\r\n")),
            ("76 columns", block([""], columns(76))),
            ("one long line", block([""], [joined])),
            ("blank line of spaces", block(["Version: x", "   "], Array(body))),
            ("BEGIN line with trailing spaces", block([""], Array(body)).replacingOccurrences(
                of: "MESSAGE-----\n", with: "MESSAGE-----  \n", options: [], range: nil)),
        ]
        for (name, variant) in legitimate {
            let outcome = try await fixture.service.decryptAndVerify(Array(variant.utf8))
            #expect(outcome.message.map { Array($0.plaintext.bytes) } == Array(text.utf8), "\(name): \(outcome)")
        }
        let odd: [(String, String)] = [
            ("CR-only line ends", block([""], Array(body), end: "\r")),
            ("headers without empty line", block(["Version: x"], Array(body))),
            ("'=' inside the base64", block([""], [String(joined.prefix(20)) + "=" + String(joined.dropFirst(20))])),
            ("second block after the first", block([""], Array(body)) + block([""], Array(body))),
        ]
        for (name, variant) in odd {
            let outcome = try await fixture.service.decryptAndVerify(Array(variant.utf8))
            if let message = outcome.message {
                #expect(Array(message.plaintext.bytes) == Array(text.utf8), "\(name): other plaintext")
            }
        }
        await fixture.close()
    }
}
