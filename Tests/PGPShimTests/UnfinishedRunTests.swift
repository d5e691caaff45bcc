import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// A gpg run that ends without a closing status line is a killed gpg or input gpg gives up on without saying so.
/// ``PGPService`` runs it again; the last of its attempts is judged only while ``UnfinishedRuns/judged`` is true
/// (the runner's third attempt at a message), and thrown as transient before (its first two), so that a gpg
/// killed again and again within a second does not become a verdict on a client's message.
@Suite struct UnfinishedRunTests {
    /// Finds a corruption of a real message that gpg gives up on without a closing status line (one flipped octet;
    /// with GnuPG 2.2.40 the first such is inside the encrypted data, about 116 of 297 octets in), and checks both
    /// sides: undecided while not
    /// judged (transient ``GPGContext/unfinishedRun``, no plaintext), a verdict when judged.
    @Test func anUnfinishedRunIsAVerdictOnlyWhenJudged() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let ciphertext = try fixture.clientGPG(["--sign", "--local-user", client.hex, "--encrypt", "--recipient",
                                                gateway.hex], stdin: Array("Hallo Beratung".utf8)).stdout
        var found: [UInt8]?
        for position in 1..<ciphertext.count where found == nil {
            var corrupt = ciphertext
            corrupt[position] ^= 0xFF
            do {
                _ = try await UnfinishedRuns.$judged.withValue(false) {
                    try await fixture.service.decryptAndVerify(corrupt, forKeys: [gateway])
                }
            } catch let error as PGPError where error.isUnfinishedRun {
                found = corrupt
            } catch {
                continue  // another failure of this corruption (e.g. gpgme's "Invalid object"): not the case sought
            }
        }
        let corrupt = try #require(found, "no flipped octet made gpg end without a verdict")
        // Undecided again, every time it is not judged.
        await #expect(throws: PGPError.self) {
            try await UnfinishedRuns.$judged.withValue(false) {
                try await fixture.service.decryptAndVerify(corrupt, forKeys: [gateway])
            }
        }
        // Judged (the default): a verdict, never plaintext.
        let outcome = try await fixture.service.decryptAndVerify(corrupt, forKeys: [gateway])
        guard case .failed = outcome else {
            Issue.record("expected a verdict, got \(outcome)")
            return
        }
        // The intact message still decrypts while not judged.
        let intact = try await UnfinishedRuns.$judged.withValue(false) {
            try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
        }
        guard case .decrypted = intact else {
            Issue.record("expected the intact message to decrypt, got \(intact)")
            return
        }
        await fixture.close()
    }

    /// A decryption whose gpg dies every time before its first status line (SIGKILL, as an operator's `pkill`
    /// looks to gpgme) stays transient even when judged: gpgme's "No data" was read as "not encrypted" before.
    /// No verdict, no plaintext; the message decrypts once gpg lives.
    @Test func aDecryptionWhoseGPGDiesIsNeverJudged() async throws {
        let engine = try FaultingEngine()
        let fixture = try GnuPGFixture(engine: engine.executable)
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let ciphertext = try fixture.clientGPG(["--sign", "--local-user", client.hex, "--encrypt", "--recipient",
                                                gateway.hex], stdin: Array("Hallo Beratung".utf8)).stdout
        try engine.kill(.decryption)
        for judged in [false, true] {
            engine.resetCounts()
            let error = await #expect(throws: PGPError.self) {
                try await UnfinishedRuns.$judged.withValue(judged) {
                    try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
                }
            }
            #expect(error?.isUnfinishedRun == true, "judged \(judged): \(String(describing: error))")
            #expect(error?.isTransient == true, "\(String(describing: error?.unfinishedTrace))")
            #expect(engine.runs(.decryption) == PGPService.unfinishedRunAttempts)
        }
        engine.heal(.decryption)
        guard case .decrypted = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway]) else {
            Issue.record("expected the message to decrypt once gpg lives")
            return
        }
        await fixture.close()
    }
}
