import Foundation
import PGPShim
import TestSupport
import Testing

/// Hostile or broken input never yields plaintext, and the failure says nothing about the content.
@Suite struct DecryptionFailureTests {
    @Test func messageForAnotherKeyIsNoSecretKey() async throws {
        let fixture = try GnuPGFixture()
        _ = try await fixture.makeGatewayKey()
        let other = try fixture.makeClientKey("someone-else@example.net")
        let canary = "CANARY-wrongkey-\(UUID().uuidString)"
        let ciphertext = try fixture.clientGPG(["--armor", "--encrypt", "--recipient", other.hex],
                                               stdin: Array(canary)).stdout
        let outcome = try await fixture.service.decryptAndVerify(ciphertext)
        #expect(outcome.failure == .noSecretKey)
        await fixture.close()
    }

    @Test func corruptedCiphertextIsCorrupted() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let canary = "CANARY-corrupt-\(UUID().uuidString) " + String(repeating: "x", count: 4000)
        var binary = try fixture.clientGPG(["--compress-algo", "none", "--encrypt", "--recipient", gateway.hex],
                                           stdin: Array(canary)).stdout
        // Flip bits in the middle of the encrypted data packet (not in the session key packet at the start).
        for offset in stride(from: binary.count / 2, to: binary.count / 2 + 16, by: 1) { binary[offset] ^= 0x5A }
        let outcome = try await fixture.service.decryptAndVerify(binary)
        #expect(outcome.failure == .corrupted)
        #expect(!"\(outcome)".contains("CANARY"))
        await fixture.close()
    }

    @Test func signedOnlyMessageIsNotEncrypted() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let signed = try fixture.clientGPG(["--armor", "--sign", "--local-user", client.hex],
                                           stdin: Array("CANARY-signed-only")).stdout
        #expect(try await fixture.service.decryptAndVerify(signed).failure == .notEncrypted)
        await fixture.close()
    }

    /// A passphrase-only (SKESK) message: the gateway never supplies passphrases for those, and must not hang.
    @Test func symmetricOnlyMessageIsRefusedWithoutHanging() async throws {
        let fixture = try GnuPGFixture()
        _ = try await fixture.makeGatewayKey()
        let ciphertext = try Shell.run("gpg", ["--homedir", fixture.clientHome.path, "--batch", "--pinentry-mode",
                                               "loopback", "--passphrase", "pw", "--armor", "--symmetric"],
                                       stdin: Array("CANARY-symmetric")).stdout
        let outcome = try await fixture.service.decryptAndVerify(ciphertext)
        #expect(outcome.failure == .noSecretKey)
        await fixture.close()
    }

    @Test(arguments: [
        "not openpgp at all",
        "-----BEGIN PGP MESSAGE-----\n\nhQEMA5gibberish\n-----END PGP MESSAGE-----\n",
    ])
    func garbageIsAFailureNotACrash(_ input: String) async throws {
        let fixture = try GnuPGFixture()
        _ = try await fixture.makeGatewayKey()
        let outcome = try await fixture.service.decryptAndVerify(Array(input))
        #expect(outcome.message == nil)
        await fixture.close()
    }

    @Test func emptyInputIsAUsageError() async throws {
        let fixture = try GnuPGFixture()
        await #expect(throws: PGPError.invalidInput) { try await fixture.service.decryptAndVerify([]) }
        await fixture.close()
    }

    /// A compression bomb: 32 MiB of zeros compress to a few KiB; the cap stops it and no bytes are returned.
    @Test func plaintextOverTheCapFails() async throws {
        let fixture = try GnuPGFixture(maximumPlaintextBytes: 1024 * 1024)
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("bomb@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let zeros = [UInt8](repeating: 0x30, count: 32 * 1024 * 1024)
        let ciphertext = try fixture.clientGPG(["--compress-algo", "zlib", "-z", "9", "--encrypt",
                                                "--recipient", gateway.hex], stdin: zeros).stdout
        #expect(ciphertext.count < 200_000)
        let outcome = try await fixture.service.decryptAndVerify(ciphertext)
        #expect(outcome.failure == .plaintextTooLarge(limit: 1024 * 1024))
        await fixture.close()
    }

    /// Canary check over every failure path above: neither outcomes nor thrown errors mention the content.
    @Test func errorsAndFailuresCarryNoContent() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let canary = "CANARY-errors-\(UUID().uuidString)"
        let noMDC = try fixture.clientGPG(["--rfc2440", "--cipher-algo", "AES", "--encrypt",
                                           "--recipient", gateway.hex], stdin: Array(canary)).stdout
        var texts: [String] = ["\(try await fixture.service.decryptAndVerify(noMDC))"]
        do {
            _ = try await fixture.service.encrypt(Array(canary), to: [try KeyFingerprint(String(repeating: "A", count: 40))],
                                                  signer: nil)
        } catch {
            texts.append("\(error)")
            texts.append(String(reflecting: error))
        }
        #expect(texts.count == 3)
        for text in texts { #expect(!text.contains(canary)) }
        await fixture.close()
    }
}
