import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// A gpg run that did not print its closing status line may have written part of its output: an encryption without
/// `END_ENCRYPTION` or an export without `EXPORT_RES` is never returned, and, since the keys were checked first,
/// is transient (callers run it again) rather than an error about the keys. The faults come from
/// ``FaultingEngine`` around the real gpg.
@Suite struct CutEngineRunTests {
    @Test func aCutEncryptionIsTransientAndNeverReturned() async throws {
        let engine = try FaultingEngine()
        let fixture = try GnuPGFixture(engine: engine.executable)
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let text = Array("Antwort der Beratung".utf8)

        let intact = try await fixture.service.encrypt(text, to: [client], signer: gateway)
        #expect(try fixture.clientGPG(["--decrypt"], stdin: intact).stdout == text)

        // gpg ran to its end, but END_ENCRYPTION never reached gpgme (as if it died just before printing it).
        try engine.drop("END_ENCRYPTION", from: .encryption)
        let dropped = await #expect(throws: PGPError.self) {
            try await fixture.service.encrypt(text, to: [client], signer: gateway)
        }
        #expect(dropped?.isTransient == true, "\(String(describing: dropped))")
        #expect(dropped?.detail == GPGContext.unfinishedEncryption)

        // Killed before it started: transient too, for signed and unsigned encryption.
        try engine.kill(.encryption)
        for signer in [gateway, nil] as [KeyFingerprint?] {
            let killed = await #expect(throws: PGPError.self) {
                try await fixture.service.encrypt(text, to: [client], signer: signer)
            }
            #expect(killed?.isTransient == true, "\(String(describing: killed))")
        }

        // A key problem is still a key problem, not transient.
        engine.heal(.encryption)
        let unknown = try KeyFingerprint(String(repeating: "CD", count: 20))
        let missing = await #expect(throws: PGPError.self) {
            try await fixture.service.encrypt(text, to: [unknown], signer: gateway)
        }
        #expect(missing?.isTransient == false)
        #expect(missing?.code == .keyNotFound)
        await fixture.close()
    }

    @Test func aCutExportIsTransientAndNeverReturned() async throws {
        let engine = try FaultingEngine()
        let fixture = try GnuPGFixture(engine: engine.executable)
        let gateway = try await fixture.makeGatewayKey()
        let intact = try await fixture.service.exportPublicKey(gateway, armored: false, minimal: true)
        try engine.drop("EXPORT_RES", from: .export)
        let dropped = await #expect(throws: PGPError.self) {
            try await fixture.service.exportPublicKey(gateway, armored: false, minimal: true)
        }
        #expect(dropped?.isTransient == true, "\(String(describing: dropped))")
        try engine.kill(.export)
        let killed = await #expect(throws: PGPError.self) { try await fixture.service.exportPublicKey(gateway) }
        #expect(killed?.isTransient == true, "\(String(describing: killed))")
        engine.heal(.export)
        #expect(try await fixture.service.exportPublicKey(gateway, armored: false, minimal: true) == intact)
        await fixture.close()
    }
}
