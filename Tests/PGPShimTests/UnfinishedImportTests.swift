import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// A key listing or import whose gpg was killed is not a verdict on the key data (AgentKillTests: a first
/// contact's Autocrypt key skipped as "no key" put the message into a thread without its key). gpg prints
/// `IMPORT_RES` at the end of every listing and import it finishes, even of data without any key; a run without it
/// is unfinished: run again, and judged only on the last run while ``UnfinishedRuns/judged``, , and only if every
/// run ended after the same status lines (``PGPError/unfinishedTrace``). The kills come from
/// ``FaultingEngine``, the real gpg wrapped, so each case is exact.
@Suite struct UnfinishedImportTests {
    @Test func aKilledListingIsNeverNoKeyAndAKilledImportRunsAgain() async throws {
        let engine = try FaultingEngine()
        let fixture = try GnuPGFixture(engine: engine.executable)
        let client = try fixture.makeClientKey("klient@example.net")
        let keyData = try fixture.clientGPG(["--export", "--armor", client.hex]).stdout

        // Every listing killed, not judged: unfinished (transient), after PGPService's own runs, never "no key".
        try engine.kill(.keyListing)
        engine.resetCounts()
        let undecided = await #expect(throws: PGPError.self) {
            try await UnfinishedRuns.$judged.withValue(false) { try await fixture.service.importPublicKeys(keyData) }
        }
        #expect(undecided?.isUnfinishedRun == true, "\(String(describing: undecided))")
        #expect(undecided?.isTransient == true)
        #expect(engine.runs(.keyListing) == PGPService.unfinishedRunAttempts)
        #expect(engine.runs(.keyImport) == 0)
        #expect(try await fixture.service.key(client) == nil)

        // Judged (the default, and the runner's later attempts): still transient. A gpg that died before its first
        // status line says nothing about the data however often it dies, so the key is never dropped as "no key".
        let judged = await #expect(throws: PGPError.self) { try await fixture.service.importPublicKeys(keyData) }
        #expect(judged?.isUnfinishedRun == true, "\(String(describing: judged))")
        #expect(judged?.isTransient == true, "\(String(describing: judged?.unfinishedTrace)) \(String(describing: judged))")
        #expect(try await fixture.service.key(client) == nil)

        // The listing finishes, the first import is killed: run again, and the key is imported.
        engine.heal(.keyListing)
        try engine.kill(.keyImport, next: 1)
        engine.resetCounts()
        let summary = try await UnfinishedRuns.$judged.withValue(false) {
            try await fixture.service.importPublicKeys(keyData)
        }
        #expect(summary.fingerprints == [client])
        #expect(engine.runs(.keyImport) == 2)
        #expect(try await fixture.service.key(client)?.fingerprint == client)

        // Data without any key is still a verdict at once: a finished listing (IMPORT_RES) that lists nothing.
        engine.resetCounts()
        let garbage = await #expect(throws: PGPError.self) {
            try await UnfinishedRuns.$judged.withValue(false) {
                try await fixture.service.importPublicKeys(Array("kein Schlüssel".utf8))
            }
        }
        #expect(garbage?.code == .invalidInput)
        #expect(engine.runs(.keyListing) == 1)
        await fixture.close()
    }

    /// A cut listing could have missed a secret key further on in the data, and gpg's import takes secret keys:
    /// without a finished listing nothing is imported, even when judged.
    @Test func nothingIsImportedWithoutAFinishedListing() async throws {
        let engine = try FaultingEngine()
        let fixture = try GnuPGFixture(engine: engine.executable)
        let client = try fixture.makeClientKey("klient@example.net")
        let secret = try fixture.clientGPG(["--export-secret-keys", "--armor", "--pinentry-mode", "loopback",
                                            "--passphrase", "", client.hex]).stdout
        try engine.kill(.keyListing)
        _ = await #expect(throws: PGPError.self) { try await fixture.service.importPublicKeys(secret) }
        #expect(engine.runs(.keyImport) == 0)
        engine.heal(.keyListing)
        let refused = await #expect(throws: PGPError.self) { try await fixture.service.importPublicKeys(secret) }
        #expect(refused?.code == .secretKeyMaterialRefused)
        #expect(try await fixture.service.key(client, secret: true) == nil)
        await fixture.close()
    }
}
