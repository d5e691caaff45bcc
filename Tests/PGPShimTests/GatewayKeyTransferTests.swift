import Foundation
import PGPShim
import TestSupport
import Testing

/// Issue 21 in PGPShim: a gateway key made in one GnuPG home (one node) is exported with its secret part and
/// imported into another (a second node), with and without a passphrase; the second home then decrypts and signs
/// with it, and takes a later change (a new expiry) by importing again. The import takes exactly one secret key,
/// the one its caller expects, and nothing else.
@Suite struct GatewayKeyTransferTests {
    @Test(arguments: [false, true])
    func aGatewayKeyMovesToAnotherHomeAndWorksThere(withPassphrase: Bool) async throws {
        let root = URL(fileURLWithPath: "/tmp/mb-xfer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let passFile = root.appendingPathComponent("pass")
        try Data("correct horse battery\n".utf8).write(to: passFile)
        let passphrase: PassphraseSource = withPassphrase ? .file(passFile) : .none
        let first = try GnuPGFixture(passphrase: passphrase)
        let second = try GnuPGFixture(passphrase: passphrase)

        let gateway = try await first.makeGatewayKey()
        let client = try first.makeClientKey("klient@example.net")
        try await first.exchangeKeys(gateway: gateway, client: client)
        let exported = try await first.service.exportGatewaySecretKey(gateway)
        #expect(try await second.service.key(gateway, secret: true) == nil)
        let imported = try await second.service.importGatewaySecretKey(exported, accepting: { $0 == gateway })
        #expect(imported == gateway)
        #expect(try await second.service.key(gateway, secret: true)?.canSign == true)

        // The second home decrypts what the client encrypted to the gateway key, and signs with it.
        let ciphertext = try first.clientGPG(["--encrypt", "--recipient", gateway.hex], stdin: Array("geheim".utf8))
            .stdout
        #expect(try await second.service.decryptAndVerify(ciphertext).message?.plaintext.bytes.text == "geheim")
        _ = try await second.service.importPublicKeys(try first.clientGPG(["--export", client.hex]).stdout)
        let reply = try await second.service.encrypt(Array("Antwort".utf8), to: [client], signer: gateway)
        let read = try first.clientGPG(["--status-fd", "1", "--decrypt"], stdin: reply).stdout.text
        #expect(read.contains("[GNUPG:] VALIDSIG") && read.contains(gateway.hex))

        // A change on the first home (a new expiry) reaches the second by importing the key again.
        try await first.service.setExpiry(gateway, expiresInSeconds: 400 * 86_400)
        let changed = try await first.service.exportGatewaySecretKey(gateway)
        _ = try await second.service.importGatewaySecretKey(changed, accepting: { $0 == gateway })
        let expiry = try #require(try await second.service.key(gateway)?.expiresAt)
        #expect(expiry == (try await first.service.key(gateway)?.expiresAt))
        await first.close()
        await second.close()
    }

    @Test func onlyTheOneExpectedSecretKeyIsImported() async throws {
        let first = try GnuPGFixture()
        let second = try GnuPGFixture()
        let gateway = try await first.makeGatewayKey("beratung@example.org")
        let other = try await first.makeGatewayKey("jugend@example.org")
        let secret = try await first.service.exportGatewaySecretKey(gateway)

        // Filed under another key: refused, nothing imported.
        await #expect(throws: PGPError.invalidInput) {
            _ = try await second.service.importGatewaySecretKey(secret, accepting: { $0 == other })
        }
        // A public key only, two secret keys, or no key at all: refused.
        let publicOnly = try await first.service.exportPublicKey(gateway, armored: false)
        await #expect(throws: PGPError.invalidInput) {
            _ = try await second.service.importGatewaySecretKey(publicOnly, accepting: { $0 == gateway })
        }
        let both = secret + (try await first.service.exportGatewaySecretKey(other))
        await #expect(throws: PGPError.invalidInput) {
            _ = try await second.service.importGatewaySecretKey(both, accepting: { _ in true })
        }
        await #expect(throws: PGPError.self) {
            _ = try await second.service.importGatewaySecretKey(Array("no key".utf8), accepting: { _ in true })
        }
        #expect(try await second.service.key(gateway) == nil)
        #expect(try await second.service.key(other) == nil)
        // A client's mail can never carry a secret key in: the public import still refuses it.
        await #expect(throws: PGPError.secretKeyMaterialRefused) {
            _ = try await second.service.importPublicKeys(secret)
        }
        await #expect(throws: PGPError.keyNotFound) {
            _ = try await second.service.exportGatewaySecretKey(gateway)
        }
        await first.close()
        await second.close()
    }
}
