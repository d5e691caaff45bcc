import Foundation
import PGPShim
import TestSupport
import Testing

/// Messages produced by OpenPGP implementations other than GnuPG: Sequoia (`sqop`, the Stateless OpenPGP CLI)
/// and RNP (the engine Thunderbird uses).
@Suite struct IndependentImplementationTests {
    @Test func sequoiaSignedAndEncryptedMessageDecryptsAndVerifies() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let secret = try Shell.run("sqop", ["generate-key", "Klient <sq@example.net>"]).stdout
        let cert = try Shell.run("sqop", ["extract-cert"], stdin: secret).stdout
        let summary = try await fixture.service.importPublicKeys(cert)
        #expect(summary.imported == 1)
        let client = try #require(summary.fingerprints.first)

        let gatewayCert = fixture.file("gw.cert"), clientKey = fixture.file("client.key")
        try Data(try await fixture.service.exportPublicKey(gateway)).write(to: gatewayCert)
        try Data(secret).write(to: clientKey)
        let canary = "CANARY-sqop-\(UUID().uuidString)"
        let ciphertext = try Shell.run("sqop", ["encrypt", "--sign-with=\(clientKey.path)", gatewayCert.path],
                                       stdin: Array(canary)).stdout
        let message = try #require(try await fixture.service.decryptAndVerify(ciphertext).message)
        #expect(message.plaintext.bytes.text == canary)
        // sqop signs with a subkey; the verdict names the primary key, so it matches the thread's key.
        #expect(message.signature == .good(signer: client))

        // And the other way: a gateway reply decrypts with sqop and verifies against the gateway cert.
        let reply = try await fixture.service.encrypt(Array("Antwort"), to: [client], signer: gateway)
        let verifications = fixture.file("verifications")
        let plain = try Shell.run("sqop", ["decrypt", "--verify-with=\(gatewayCert.path)",
                                           "--verifications-out=\(verifications.path)", clientKey.path], stdin: reply)
        #expect(plain.stdout.text == "Antwort")
        #expect(try String(contentsOf: verifications, encoding: .utf8).contains(gateway.hex))
        await fixture.close()
    }

    @Test func rnpMessageDecryptsAndRnpReadsReplies() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("rnp@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let rnpHome = try makeRNPHome(fixture, client: client)

        let canary = "CANARY-rnp-\(UUID().uuidString)"
        let ciphertext = try rnp(rnpHome, ["--encrypt", "--sign", "-u", client.hex, "-r", gateway.hex, "--armor"],
                                 stdin: Array(canary))
        let message = try #require(try await fixture.service.decryptAndVerify(ciphertext).message)
        #expect(message.plaintext.bytes.text == canary)
        #expect(message.signature == .good(signer: client))

        let reply = try await fixture.service.encrypt(Array("Antwort via RNP"), to: [client], signer: gateway)
        #expect(try rnp(rnpHome, ["--decrypt"], stdin: reply).text == "Antwort via RNP")
        await fixture.close()
    }

    /// RNP writes AEAD (OCB, the v5-draft packet 20). GnuPG 2.2.40 (Debian 12) reads it but reports a forged
    /// final tag like an intact one, so PGPShim refuses AEAD data as unsupported, without plaintext.
    @Test func aeadMessageIsRefusedWithoutPlaintext() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("aead@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let rnpHome = try makeRNPHome(fixture, client: client)
        let canary = "CANARY-aead-\(UUID().uuidString)"
        let ciphertext = try rnp(rnpHome, ["--encrypt", "--aead=ocb", "-r", gateway.hex, "--armor"],
                                 stdin: Array(canary))
        let packetFile = fixture.file("aead.asc")
        try Data(ciphertext).write(to: packetFile)
        let packets = try Shell.run("rnp", ["--list-packets", packetFile.path]).stdout.text
        #expect(packets.contains("AEAD-encrypted data packet"), "rnp did not produce an AEAD packet")
        switch try await fixture.service.decryptAndVerify(ciphertext) {
        case .decrypted:
            Issue.record("AEAD data was decrypted")
        case .failed(let failure):
            #expect(failure == .unsupportedAlgorithm, "unexpected \(String(describing: failure))")
            #expect(!"\(failure)".contains(canary))
        }
        await fixture.close()
    }

    /// A legacy Symmetrically Encrypted Data packet (no MDC), made by gpg's --rfc2440 mode. gpg prints the
    /// plaintext before it reports the missing MDC; PGPShim must return a failure and no plaintext.
    @Test func messageWithoutMDCIsRejected() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("nomdc@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let canary = "CANARY-nomdc-\(UUID().uuidString)"
        let ciphertext = try fixture.clientGPG(["--rfc2440", "--cipher-algo", "AES", "--armor", "--encrypt",
                                                "--recipient", gateway.hex], stdin: Array(canary)).stdout
        let packets = try fixture.clientGPG(["--list-packets"], stdin: ciphertext, allowFailure: true).stdout.text
        #expect(packets.contains(":encrypted data packet:") && !packets.contains("mdc_method"),
                "fixture is not a no-MDC message")
        let outcome = try await fixture.service.decryptAndVerify(ciphertext)
        #expect(outcome.failure == .integrityProtectionMissing)
        #expect(!"\(outcome)".contains(canary))
        await fixture.close()
    }

    private func makeRNPHome(_ fixture: GnuPGFixture, client: KeyFingerprint) throws -> URL {
        let home = fixture.root.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let secret = try fixture.clientGPG(["--export-secret-keys", client.hex]).stdout
        let publics = try fixture.clientGPG(["--export"]).stdout
        let publicFile = fixture.file("rnp-public.gpg"), secretFile = fixture.file("rnp-secret.gpg")
        try Data(publics).write(to: publicFile)
        try Data(secret).write(to: secretFile)
        try Shell.run("rnpkeys", ["--homedir", home.path, "--import", publicFile.path])
        try Shell.run("rnpkeys", ["--homedir", home.path, "--import", secretFile.path])
        return home
    }

    private func rnp(_ home: URL, _ arguments: [String], stdin: [UInt8]) throws -> [UInt8] {
        try Shell.run("rnp", ["--homedir", home.path, "--password", ""] + arguments, stdin: stdin).stdout
    }
}
