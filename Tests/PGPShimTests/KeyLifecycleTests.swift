import Foundation
import PGPShim
import TestSupport
import Testing

/// Issue 20 in PGPShim: keys made with an expiry, the expiry moved (primary key and subkeys), gpg's revocation
/// certificate read and imported, and a revoked key refused as a signer.
@Suite struct KeyLifecycleTests {
    @Test func expiryIsSetAtGenerationAndMovedForEverySubkey() async throws {
        let fixture = try GnuPGFixture()
        let year: UInt = 365 * 86_400
        let key = try await fixture.service.generateKey(userID: "Beratung <beratung@example.org>",
                                                        expiresInSeconds: year)
        let info = try #require(try await fixture.service.key(key, secret: true))
        let now = Int(Date().timeIntervalSince1970)
        #expect(abs((info.expiresAt ?? 0) - now - Int(year)) < 600)
        #expect(abs((info.createdAt ?? 0) - now) < 600)
        #expect(info.canEncrypt && info.canSign)

        try await fixture.service.setExpiry(key, expiresInSeconds: 2 * year)
        let moved = try #require(try await fixture.service.key(key))
        #expect(abs((moved.expiresAt ?? 0) - now - 2 * Int(year)) < 600)
        let listing = try fixture.clientGPG(["--with-colons", "--import-options", "show-only", "--import"],
                                            stdin: try await fixture.service.exportPublicKey(key, armored: false))
            .stdout.text.split(separator: "\n")
        let expiries = listing.filter { $0.hasPrefix("pub:") || $0.hasPrefix("sub:") }
            .map { Int($0.split(separator: ":", omittingEmptySubsequences: false)[6]) }
        // Primary key and subkey are moved by two gpg runs, a second or so apart.
        #expect(expiries.count == 2 && expiries.allSatisfy { abs(($0 ?? 0) - (moved.expiresAt ?? 0)) <= 5 })

        try await fixture.service.setExpiry(key, expiresInSeconds: 0)
        #expect(try await fixture.service.key(key)?.expiresAt == nil)
        await #expect(throws: PGPError.keyNotFound) {
            try await fixture.service.setExpiry(try KeyFingerprint(String(repeating: "AB", count: 20)),
                                                expiresInSeconds: year)
        }
        await fixture.close()
    }

    @Test func storedRevocationCertificateRevokesOnlyItsKeyAndStopsSigning() async throws {
        let fixture = try GnuPGFixture()
        let key = try await fixture.makeGatewayKey("beratung@example.org")
        let other = try await fixture.makeGatewayKey("jugend@example.org")
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: key, client: client)
        let certificate = try #require(try await fixture.service.storedRevocationCertificate(key))
        #expect(certificate.text.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
        #expect(!certificate.text.contains(":-----"))
        // Something that revokes nothing is refused, and leaves the keys as they were.
        await #expect(throws: PGPError.invalidInput) {
            try await fixture.service.importRevocation(try await fixture.service.exportPublicKey(other), for: key)
        }
        #expect(try await fixture.service.key(key)?.isRevoked == false)
        #expect(try await fixture.service.key(other)?.isRevoked == false)
        _ = try await fixture.service.encrypt(Array("x".utf8), to: [client], signer: key)

        try await fixture.service.importRevocation(certificate, for: key)
        #expect(try await fixture.service.key(key)?.isRevoked == true)
        await #expect(throws: PGPError.keyUnusable) {
            _ = try await fixture.service.encrypt(Array("x".utf8), to: [client], signer: key)
        }
        // The exported key carries the revocation (what WKD publishes).
        let exported = try await fixture.service.exportPublicKey(key, armored: false, minimal: true)
        let shown = try fixture.clientGPG(["--with-colons", "--import-options", "show-only", "--import"],
                                          stdin: exported).stdout.text
        #expect(shown.hasPrefix("pub:r:"))
        #expect(try await fixture.service.storedRevocationCertificate(
            try KeyFingerprint(String(repeating: "CD", count: 20))) == nil)
        await fixture.close()
    }
}

/// A gateway key under a passphrase (`[keys] passphrase-file`): gpg asks for it without naming the key when the
/// expiry moves, and PGPShim refused such requests everywhere (they stand for a symmetric session key while
/// decrypting), so extending or rotating such a key failed with "Operation cancelled".
@Suite struct PassphraseKeyLifecycleTests {
    @Test func theExpiryOfAKeyUnderAPassphraseMoves() async throws {
        let root = URL(fileURLWithPath: "/tmp/mb-ppexp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let passFile = root.appendingPathComponent("pass")
        try Data("correct horse battery\n".utf8).write(to: passFile)
        let fixture = try GnuPGFixture(passphrase: .file(passFile))
        let key = try await fixture.service.generateKey(userID: "Beratung <beratung@example.org>",
                                                        expiresInSeconds: 365 * 86_400)
        try await fixture.service.setExpiry(key, expiresInSeconds: 800 * 86_400)
        let moved = try #require(try await fixture.service.key(key)?.expiresAt)
        #expect(abs(moved - Int(Date().timeIntervalSince1970) - 800 * 86_400) < 600)
        // Decryption still never answers a request without a key (a symmetric session key).
        let symmetric = try fixture.clientGPG(["--symmetric", "--passphrase", "correct horse battery"],
                                              stdin: Array("geheim".utf8)).stdout
        #expect(try await fixture.service.decryptAndVerify(symmetric).message == nil)
        await fixture.close()
    }
}
