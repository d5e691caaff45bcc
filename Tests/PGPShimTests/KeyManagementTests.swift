import Foundation
import PGPShim
import TestSupport
import Testing

@Suite struct KeyManagementTests {
    @Test func importReportsWhatHappenedAndIsIdempotent() async throws {
        let fixture = try GnuPGFixture()
        let client = try fixture.makeClientKey("klient@example.net")
        let armored = try fixture.clientGPG(["--export", "--armor", client.hex]).stdout
        let binary = try fixture.clientGPG(["--export", client.hex]).stdout
        let first = try await fixture.service.importPublicKeys(armored)
        #expect(first.considered == 1 && first.imported == 1 && first.fingerprints == [client])
        let second = try await fixture.service.importPublicKeys(binary)
        #expect(second.imported == 0 && second.unchanged == 1)
        await fixture.close()
    }

    @Test func secretKeyMaterialIsRefusedAndNothingIsImported() async throws {
        let fixture = try GnuPGFixture()
        let client = try fixture.makeClientKey("klient@example.net")
        let secret = try fixture.clientGPG(["--export-secret-keys", "--armor", client.hex]).stdout
        await #expect(throws: PGPError.secretKeyMaterialRefused) {
            try await fixture.service.importPublicKeys(secret)
        }
        #expect(try await fixture.service.key(client) == nil)
        await fixture.close()
    }

    @Test func garbageKeyDataIsInvalidInput() async throws {
        let fixture = try GnuPGFixture()
        await #expect(throws: PGPError.invalidInput) {
            try await fixture.service.importPublicKeys(Array("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxyz\n"))
        }
        await fixture.close()
    }

    @Test func generatedGatewayKeyHasTheRightShapeAndExports() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey("team@example.org")
        let info = try #require(try await fixture.service.key(gateway, secret: true))
        #expect(info.hasSecretKey && info.canSign && info.canEncrypt && info.expiresAt == nil)
        #expect(info.emails == ["team@example.org"])
        // gpg's view of the algorithms: ed25519 primary, cv25519 subkey.
        let armored = try await fixture.service.exportPublicKey(gateway)
        #expect(armored.text.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
        #expect(!armored.text.contains("PRIVATE"))
        let listing = try fixture.clientGPG(["--with-colons", "--import-options", "show-only", "--import"],
                                            stdin: armored).stdout.text
        #expect(listing.contains("pub:-:255:22:"))  // 22 = EdDSA
        #expect(listing.contains("sub:-:255:18:"))  // 18 = ECDH (Cv25519)
        let minimal = try await fixture.service.exportPublicKey(gateway, armored: false, minimal: true)
        #expect(minimal.first.map { $0 & 0x80 != 0 } == true)  // binary OpenPGP packet
        await fixture.close()
    }

    @Test func lookupByEmailMatchesExactlyNotBySubstring() async throws {
        let fixture = try GnuPGFixture()
        let anna = try fixture.makeClientKey("anna@example.net")
        let hanna = try fixture.makeClientKey("hanna@example.net")
        for key in [anna, hanna] {
            _ = try await fixture.service.importPublicKeys(try fixture.clientGPG(["--export", key.hex]).stdout)
        }
        #expect(try await fixture.service.keys(forEmail: "ANNA@example.net").map(\.fingerprint) == [anna])
        #expect(try await fixture.service.keys(forEmail: "nobody@example.net").isEmpty)
        await #expect(throws: PGPError.invalidInput) { try await fixture.service.keys(forEmail: "a>b") }
        await fixture.close()
    }

    @Test func exportingAnUnknownKeyIsKeyNotFound() async throws {
        let fixture = try GnuPGFixture()
        await #expect(throws: PGPError.keyNotFound) {
            try await fixture.service.exportPublicKey(try KeyFingerprint(String(repeating: "B", count: 40)))
        }
        await fixture.close()
    }

    @Test func fingerprintValidatesAndRedacts() throws {
        let fpr = try KeyFingerprint("0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567")
        #expect(fpr.hex == "0123456789ABCDEF0123456789ABCDEF01234567")
        #expect(fpr.keyID == "89ABCDEF01234567")
        #expect("\(fpr)" == "<fingerprint>")
        #expect(throws: InvalidFingerprint.self) { try KeyFingerprint("xyz") }
        #expect(throws: InvalidFingerprint.self) { try KeyFingerprint(String(repeating: "G", count: 40)) }
        // A non-ASCII digit look-alike (full-width) is no hex digit.
        #expect(throws: InvalidFingerprint.self) { try KeyFingerprint(String(repeating: "\u{FF10}", count: 40)) }
    }

    @Test func gnupgHomeIsPrivateAndOffline() async throws {
        let fixture = try GnuPGFixture()
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.gatewayHome.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let conf = try String(contentsOf: fixture.gatewayHome.appendingPathComponent("gpg.conf"), encoding: .utf8)
        #expect(conf.contains("disable-dirmngr") && conf.contains("no-auto-key-retrieve"))
        await fixture.close()
    }
}
