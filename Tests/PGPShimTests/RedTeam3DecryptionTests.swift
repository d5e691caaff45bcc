import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// Third red-team pass on PGPShim: certificates that bind a public subkey of the gateway. Each test asserts the SAFE
/// behaviour; `// BREAK:` marks a test that failed while the defect was there.
@Suite struct RedTeam3DecryptionTests {
    /// The attacker's certificate binding the gateway key's public encryption subkey, made in a home of its own
    /// holding a copy of the gateway's secret (a crafting convenience only, see
    /// ``GnuPGClient/certificateSharingEncryptionSubkey(of:for:ownSubkey:)``), imported into the gateway's keyring
    /// the way an Autocrypt header or an attached key is.
    private func plantCertificate(_ fixture: GnuPGFixture, sharing gateway: KeyFingerprint,
                                  for address: String) async throws -> KeyFingerprint {
        let craft = try GnuPGClient(home: fixture.root.appendingPathComponent("craft"))
        defer { craft.kill() }
        let secret = try Shell.run("gpg", ["--homedir", fixture.gatewayHome.path, "--batch", "--pinentry-mode",
                                           "loopback", "--passphrase", "", "--export-secret-keys", gateway.hex]).stdout
        try craft.gpg(["--import"], stdin: secret)
        let planted = try craft.certificateSharingEncryptionSubkey(of: gateway, for: address, ownSubkey: true)
        let summary = try await fixture.service.importPublicKeys(try craft.gpg(["--export", planted.hex]).stdout)
        try #require(summary.fingerprints.contains(planted), "gpg did not import the planted certificate")
        return planted
    }

    // BREAK: gpgme's `key->secret` is set when any subkey's secret is in the keyring. A certificate that binds the
    // gateway's public encryption subkey, once imported (one Autocrypt header in any mail that decrypts), is
    // listed by gpg as a secret key (`sec#`, the gateway's subkey as `ssb`). PGPShim took it for one of our keys:
    // `secretKeyIDs(excluding:)` then counted the gateway's own subkey as "another mailbox's key" and removed its
    // key packet from every message with more than one (a client that encrypts to itself too: Thunderbird), so all
    // such mail was refused as not for us; and `key(_:secret: true)` answered for it, so a new mailbox whose address
    // the certificate claims took it as its gateway key (GatewayKeys.ensure) and published it, with the attacker's
    // own newer encryption subkey, to clients.
    @Test func certificateBindingTheGatewaysSubkeyIsNotASecretKeyOfOurs() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klientin@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let planted = try await plantCertificate(fixture, sharing: gateway, for: "jugend@example.org")

        #expect(try await fixture.service.key(planted, secret: true) == nil,
                "a certificate holding only our subkey's secret counts as a secret key of ours")
        #expect(try await fixture.service.key(gateway, secret: true)?.hasSecretKey == true)
        #expect(try await fixture.service.key(planted)?.hasSecretKey == false)

        // Encrypted to the gateway and to the client itself (two key packets), and to the gateway only.
        let canary = "CANARY-shared-\(UUID().uuidString.prefix(8))"
        for recipients in [[gateway, client], [client, gateway], [gateway]] {
            var arguments = ["--armor", "--encrypt", "--sign", "--local-user", client.hex]
            for recipient in recipients { arguments += ["--recipient", recipient.hex] }
            let ciphertext = try fixture.clientGPG(arguments, stdin: Array("Hallo \(canary)\n".utf8)).stdout
            let outcome = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
            guard case .decrypted(let message) = outcome else {
                Issue.record("\(recipients.count) key packets: our own mail refused: \(outcome)")
                continue
            }
            #expect(message.decryptionKey == gateway)
            #expect(message.plaintext.bytes.firstRange(of: Array(canary.utf8)) != nil)
        }
        await fixture.close()
    }
}
