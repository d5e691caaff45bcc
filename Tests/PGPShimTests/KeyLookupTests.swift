import Foundation
import PGPShim
import TestSupport
import Testing

/// Key lookups run on the operation's own context (issue 23, GPGContext+KeyLookup.swift): one gpg start each,
/// with gpgme_get_key's results.
@Suite struct KeyLookupTests {
    @Test func lookupsFindWhatGpgmeGetKeyFound() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey("team@example.org")
        let client = try fixture.makeClientKey("klient@example.net")
        let stranger = try fixture.makeClientKey("fremd@example.net")
        _ = try await fixture.service.importPublicKeys(try fixture.clientGPG(["--export", client.hex]).stdout)

        #expect(try await fixture.service.key(client)?.fingerprint == client)
        #expect(try await fixture.service.key(client)?.emails == ["klient@example.net"])
        // A public key has no secret part here; the gateway key has both.
        #expect(try await fixture.service.key(client, secret: true) == nil)
        #expect(try await fixture.service.key(gateway, secret: true)?.hasSecretKey == true)
        #expect(try await fixture.service.key(gateway)?.fingerprint == gateway)
        // Not in the gateway's keyring: nil, not an error; "must exist" makes it a retry.
        #expect(try await fixture.service.key(stranger) == nil)
        await #expect(throws: PGPError.transient) { try await fixture.service.existingKey(stranger) }
        // Encryption and signing look up both keys the same way.
        let ciphertext = try await fixture.service.encrypt(Array("Hallo".utf8), to: [client], signer: gateway)
        #expect(String(decoding: ciphertext, as: UTF8.self).hasPrefix("-----BEGIN PGP MESSAGE-----"))
        await fixture.close()
    }

    /// Before, each lookup also ran `gpg --version` from the same thread (gpgme_get_key binds a second context
    /// to the home, and gpgme asks the engine for its version when it does).
    /// The runs are counted by ``FaultingEngine`` (the real gpg behind a wrapper that notes each start), not by
    /// tracing the test process: `strace` attached to `swift test` hung (the former GPGRunTrace).
    @Test func aLookupStartsOneGpgProcess() async throws {
        let engine = try FaultingEngine()
        let fixture = try GnuPGFixture(engine: engine.executable)
        let gateway = try await fixture.makeGatewayKey("team@example.org")
        let client = try fixture.makeClientKey("klient@example.net")
        _ = try await fixture.service.importPublicKeys(try fixture.clientGPG(["--export", client.hex]).stdout)
        _ = try await fixture.service.key(client)
        engine.resetCounts()
        _ = try await fixture.service.key(client)
        _ = try await fixture.service.key(gateway, secret: true)
        _ = try await fixture.service.key(gateway)
        _ = try await fixture.service.existingKey(client)
        #expect(engine.runs(withArgument: "--list-") == 4, "\(engine.allRuns)")
        #expect(engine.allRuns.count == 4, "\(engine.allRuns)")
        #expect(engine.runs(withArgument: "--version") == 0)
        await fixture.close()
    }

    /// A look-up whose gpg was killed is not "no such key" (a first contact's key "missing" sent its message to
    /// a thread without key, issue 28): gpg answers every finished look-up with `KEY_CONSIDERED` or
    /// `ERROR keylist.getkey`, and one without either is transient. A key that is not there is still nil.
    @Test func aKilledLookupIsNeverNoKey() async throws {
        let engine = try FaultingEngine()
        let fixture = try GnuPGFixture(engine: engine.executable)
        let client = try fixture.makeClientKey("klient@example.net")
        _ = try await fixture.service.importPublicKeys(try fixture.clientGPG(["--export", client.hex]).stdout)
        #expect(try await fixture.service.key(client)?.fingerprint == client)

        try engine.kill(.lookup)
        for lookup in [
            { _ = try await fixture.service.key(client) },
            { _ = try await fixture.service.key(client, secret: true) },
            { _ = try await fixture.service.keys(withKeyID: client.keyID) },
            { _ = try await fixture.service.keys(forEmail: "klient@example.net") },
        ] as [@Sendable () async throws -> Void] {
            let error = await #expect(throws: PGPError.self) { try await lookup() }
            #expect(error?.isTransient == true, "\(String(describing: error))")
        }
        #expect(engine.runs(.lookup) >= 4, "\(engine.allRuns)")

        engine.heal(.lookup)
        let absent = try KeyFingerprint(String(repeating: "AB", count: 20))
        #expect(try await fixture.service.key(absent) == nil)
        #expect(try await fixture.service.key(client, secret: true) == nil)
        #expect(try await fixture.service.keys(withKeyID: "ABABABABABABABAB").isEmpty)
        #expect(try await fixture.service.keys(forEmail: "niemand@example.net").isEmpty)
        #expect(try await fixture.service.keys(forEmail: "klient@example.net").map(\.fingerprint) == [client])
        await fixture.close()
    }
}
