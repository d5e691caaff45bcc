import Foundation
import PGPShim
import TestSupport
import Testing

@Suite struct SignatureTests {
    /// Sets up a gateway and a client that know each other's public keys.
    private func pair() async throws -> (GnuPGFixture, gateway: KeyFingerprint, client: KeyFingerprint) {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        return (fixture, gateway, client)
    }

    private func detachedSignature(_ fixture: GnuPGFixture, by signer: KeyFingerprint, over data: [UInt8],
                                   extra: [String] = []) throws -> [UInt8] {
        try fixture.clientGPG(extra + ["--armor", "--detach-sign", "--local-user", signer.hex], stdin: data).stdout
    }

    @Test func goodDetachedSignature() async throws {
        let (fixture, _, client) = try await pair()
        let data = Array("Content-Type: text/plain\r\n\r\nHallo\r\n")
        let signature = try detachedSignature(fixture, by: client, over: data)
        let verdicts = try await fixture.service.verifyDetached(signature: signature, signedData: data)
        #expect(verdicts == [.good(signer: client)])
        #expect(verdicts[0].bound(to: client) == .validByThreadKey)
        await fixture.close()
    }

    @Test func tamperedDataIsBad() async throws {
        let (fixture, _, client) = try await pair()
        let data = Array("Ich komme morgen.\r\n")
        let signature = try detachedSignature(fixture, by: client, over: data)
        let tampered = Array("Ich komme nicht.\r\n")
        let verdicts = try await fixture.service.verifyDetached(signature: signature, signedData: tampered)
        guard case .bad = verdicts.first else { Issue.record("expected bad, got \(verdicts)"); return }
        #expect(verdicts[0].bound(to: client) == .invalid)
        await fixture.close()
    }

    @Test func unknownSigner() async throws {
        let (fixture, _, _) = try await pair()
        // A second client key the gateway never imported.
        let stranger = try fixture.makeClientKey("fremd@example.net")
        let data = Array("Hallo")
        let signature = try detachedSignature(fixture, by: stranger, over: data)
        let verdicts = try await fixture.service.verifyDetached(signature: signature, signedData: data)
        guard case .unknownKey = verdicts.first else { Issue.record("expected unknownKey, got \(verdicts)"); return }
        #expect(verdicts[0].bound(to: stranger) == .unknownSigner)
        await fixture.close()
    }

    /// A key created in 2020 with a one-day lifetime, signing at that time: valid signature, expired key.
    @Test func expiredKey() async throws {
        let fixture = try GnuPGFixture()
        _ = try await fixture.makeGatewayKey()
        let past = ["--faked-system-time", "20200101T120000!", "--ignore-time-conflict"]
        let old = try fixture.makeClientKey("alt@example.net", extra: past, expiry: "1d")
        _ = try await fixture.service.importPublicKeys(try fixture.clientGPG(["--export", old.hex]).stdout)
        let data = Array("Nachricht aus der Vergangenheit")
        let signature = try detachedSignature(fixture, by: old, over: data, extra: past)
        let verdicts = try await fixture.service.verifyDetached(signature: signature, signedData: data)
        #expect(verdicts == [.goodButKeyNotCurrent(signer: old, reason: .keyExpired)])
        #expect(verdicts[0].bound(to: old) == .threadKeyNotCurrent(.keyExpired))
        let info = try #require(try await fixture.service.key(old))
        #expect(info.isExpired && !info.isUsableForEncryption)
        await #expect(throws: PGPError.keyUnusable) {
            try await fixture.service.encrypt(Array("x"), to: [old], signer: nil)
        }
        await fixture.close()
    }

    @Test func signerDifferentFromThreadKeyIsAMismatchNeverValid() async throws {
        let (fixture, _, client) = try await pair()
        let other = try fixture.makeClientKey("zweiter@example.net")
        _ = try await fixture.service.importPublicKeys(try fixture.clientGPG(["--export", other.hex]).stdout)
        let data = Array("Hallo")
        let signature = try detachedSignature(fixture, by: other, over: data)
        let verdicts = try await fixture.service.verifyDetached(signature: signature, signedData: data)
        #expect(verdicts == [.good(signer: other)])
        #expect(verdicts[0].bound(to: client) == .signerMismatch(other))
        #expect(verdicts[0].bound(to: nil) == .signedByUnregisteredKey(other))
        await fixture.close()
    }

    @Test func encryptedButUnsignedIsUnsigned() async throws {
        let (fixture, gateway, client) = try await pair()
        let ciphertext = try fixture.clientGPG(["--encrypt", "--recipient", gateway.hex], stdin: Array("x")).stdout
        let message = try #require(try await fixture.service.decryptAndVerify(ciphertext).message)
        #expect(message.signature == .unsigned)
        #expect(message.signature.bound(to: client) == .unsigned)
        await fixture.close()
    }

    @Test func signedInsideEncryptionByAnotherKeyIsAMismatch() async throws {
        let (fixture, gateway, client) = try await pair()
        let other = try fixture.makeClientKey("zweiter@example.net")
        _ = try await fixture.service.importPublicKeys(try fixture.clientGPG(["--export", other.hex]).stdout)
        let ciphertext = try fixture.clientGPG(["--sign", "--local-user", other.hex, "--encrypt",
                                                "--recipient", gateway.hex], stdin: Array("x")).stdout
        let message = try #require(try await fixture.service.decryptAndVerify(ciphertext).message)
        #expect(message.signature.bound(to: client) == .signerMismatch(other))
        await fixture.close()
    }
}
