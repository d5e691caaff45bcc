import Foundation
@testable import PGPShim
import TestSupport
import Testing

@Suite struct RoundTripTests {
    @Test func clientMailEncryptedWithGPGDecryptsWithVerifiedSignature() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)

        let canary = "CANARY-roundtrip-\(UUID().uuidString)"
        let ciphertext = try fixture.clientGPG(["--armor", "--sign", "--local-user", client.hex,
                                                "--encrypt", "--recipient", gateway.hex], stdin: Array(canary)).stdout
        let outcome = try await fixture.service.decryptAndVerify(ciphertext)
        let message = try #require(outcome.message, "expected plaintext, got \(outcome)")
        #expect(message.plaintext.bytes.text == canary)
        #expect(message.integrityProtected)
        #expect(message.signature == .good(signer: client))
        #expect(message.signature.bound(to: client) == .validByThreadKey)
        #expect(!message.recipientKeyIDs.isEmpty)
        // Nothing printable about the outcome shows the plaintext.
        #expect(!"\(outcome)".contains(canary))
        #expect(!String(reflecting: message).contains(canary))
        var dumped = ""
        dump(message, to: &dumped)
        #expect(!dumped.contains(canary))
        await fixture.close()
    }

    @Test func gatewayReplyDecryptsAndVerifiesWithGPG() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)

        let reply = "Antwort der Beratung: Grüße \(UUID().uuidString)"
        let armored = try await fixture.service.encrypt(Array(reply), to: [client], signer: gateway)
        #expect(armored.text.hasPrefix("-----BEGIN PGP MESSAGE-----"))
        let status = fixture.file("status")
        let decrypted = try fixture.clientGPG(["--status-file", status.path, "--decrypt"], stdin: armored)
        #expect(decrypted.stdout.text == reply)
        let statusText = try String(contentsOf: status, encoding: .utf8)
        #expect(statusText.contains("[GNUPG:] GOODSIG"))
        #expect(statusText.contains("[GNUPG:] VALIDSIG"))
        #expect(statusText.contains(gateway.hex))
        #expect(statusText.contains("[GNUPG:] DECRYPTION_OKAY"))
        await fixture.close()
    }

    @Test func passphraseProtectedGatewayKeyWorksAndWrongPassphraseIsAnError() async throws {
        let root = URL(fileURLWithPath: "/tmp/mb-pass-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let passFile = root.appendingPathComponent("pass")
        try Data("correct horse battery\n".utf8).write(to: passFile)

        let fixture = try GnuPGFixture(passphrase: .file(passFile))
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let ciphertext = try fixture.clientGPG(["--armor", "--encrypt", "--recipient", gateway.hex],
                                               stdin: Array("geheim")).stdout
        #expect(try await fixture.service.decryptAndVerify(ciphertext).message?.plaintext.bytes.text == "geheim")

        // The same keyring with a wrong passphrase: the operation fails loudly, as a thrown usage error.
        try Data("wrong\n".utf8).write(to: passFile)
        let wrong = try PGPService(configuration: PGPConfiguration(homeDirectory: fixture.gatewayHome,
                                                                   passphrase: .file(passFile)))
        await #expect(throws: PGPError.badPassphrase) { try await wrong.decryptAndVerify(ciphertext) }
        try await wrong.shutdown()
        await fixture.close()
    }

    @Test func passphraseFromSystemdCredentialIsRead() throws {
        let dir = URL(fileURLWithPath: "/tmp/mb-cred-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("s3cret\n".utf8).write(to: dir.appendingPathComponent("mailbridge-gpg"))
        // Reading happens on context creation; an absent credential directory is a clear error.
        let missing = PGPConfiguration(homeDirectory: dir, passphrase: .systemdCredential(name: "nope"))
        #expect(throws: PGPError.invalidInput) { try missing.passphrase.checkReadable(environment: [:]) }
        let present = PassphraseSource.systemdCredential(name: "mailbridge-gpg")
        #expect(try present.load(environment: ["CREDENTIALS_DIRECTORY": dir.path]) == Array("s3cret".utf8))
    }
}
