import Foundation
@testable import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// A first contact's message whose offered key could not be imported because gpg was killed is kept in the spool
/// and imported with its key once gpg runs again, never stored without the client's key (the fault AgentKillTests
/// found by chance, made exact here with ``FaultingEngine``).
@Suite(.serialized) struct KilledKeyImportTests {
    /// `run`: the listing of the offered key data (before, a killed one was "no key" after three tries) or the
    /// import itself.
    @Test(arguments: [FaultingEngine.Run.keyListing, .keyImport])
    func aKilledKeyImportDefersTheMessageInsteadOfDroppingTheKey(run: FaultingEngine.Run) async throws {
        let engine = try FaultingEngine()
        let harness = try await PipelineHarness(engine: engine.executable)
        let address = "erstkontakt@example.net"
        let key = try harness.client.makeKey(address)
        let armored = try harness.client.gpg(["--armor", "--sign", "--local-user", key.hex, "--encrypt",
                                              "--recipient", harness.gateway.hex, "--recipient", key.hex],
                                             stdin: Array("Guten Tag".utf8)).stdout
        let keydata = Data(try harness.client.gpg(["--export", "--export-options", "export-minimal",
                                                   key.hex]).stdout).base64EncodedString()
        let raw = RejectedMessageTests.mail(from: address, subject: "...", ciphertext: armored)
            .replacingOccurrences(of: "MIME-Version: 1.0\n",
                                  with: "Autocrypt: addr=\(address); keydata=\(keydata)\nMIME-Version: 1.0\n")
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
        try await PipelineHarness.spool(raw, from: address, to: PipelineHarness.counselling, into: intake)
        let runner = PipelineRunner(spool: intake, pipeline: harness.pipeline, logger: harness.logs.logger("runner"))

        // Every such run dies: the runner's first attempt (not judged) keeps the message, stores nothing.
        try engine.kill(run)
        await runner.drain()
        #expect(try intake.pending().count == 1)
        #expect(engine.runs(run) == PGPService.unfinishedRunAttempts)
        let none = try await harness.store.read { try $0.listThreads(field: harness.mailbox.field, limit: 10) }
        #expect(none.isEmpty)
        #expect(harness.logs.all.contains { $0.contains("failed in the engine; message kept in the spool") })

        // gpg runs again: after the deferral the message is imported, bound to the client's key.
        engine.heal(run)
        try await Task.sleep(for: .milliseconds(5_300))
        await runner.drain()
        #expect(try intake.pending().isEmpty)
        let threads = try await harness.store.read { tx in
            try tx.listThreads(field: harness.mailbox.field, limit: 10).map { try tx.openThread($0.id) }
        }
        #expect(threads.count == 1)
        #expect(threads.first?.clientKey?.hex == key.hex)
        #expect(threads.first?.messages.count == 1)
        #expect(!harness.logs.all.contains { $0.contains("kept without a client key") })
        await harness.close()
    }
}
