import Foundation
import Logging
import NIOCore
@testable import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 28, item 1: a failure whose cause is the engine or the file system is retried, never a final verdict.
@Suite struct EngineRetryTests {
    /// A signed, encrypted PGP/MIME mail from a client whose key the gateway has.
    static func knownClientMail(_ harness: PipelineHarness, _ address: String, id: String) async throws -> String {
        let key = try harness.client.makeKey(address)
        _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", key.hex]).stdout)
        let ciphertext = try harness.client.gpg(["--armor", "--sign", "--local-user", key.hex, "--encrypt",
                                                 "--recipient", harness.gateway.hex],
                                                stdin: Array("Nachricht \(id)".utf8)).stdout
        return try harness.pgpMIMEMail(from: address, ciphertext: ciphertext, messageID: "<\(id)@example.net>")
    }

    /// The gateway's `pubring.kbx` disappears (as during another process's keyring rewrite) while a client's
    /// message is processed: gpg says "No secret key", the pipeline sees the contradiction, waits and tries again;
    /// once the file is back the message is imported. Without the retry it was `rejected-encrypted(notForUs)`.
    @Test func aMissingKeyringIsRetriedUntilItIsBack() async throws {
        let harness = try await PipelineHarness()
        let raw = try await Self.knownClientMail(harness, "klient@example.net", id: "retry-1")
        let keyring = harness.root.appendingPathComponent("gw/pubring.kbx").path
        try FileManager.default.moveItem(atPath: keyring, toPath: keyring + ".away")
        // The last import's backup goes too: with it, KeyboxRepair would put a keyring back at once.
        _ = rename(keyring + "~", keyring + ".backup-away")
        let message = try harness.spool(raw, from: "klient@example.net")
        let pipeline = harness.pipeline
        let accepting = Task { try await pipeline.accept(message) }
        // Put the keyring back only after the first attempt failed transiently (the pipeline logs each retry).
        let deadline = ContinuousClock.now + .seconds(20)
        while !harness.logs.all.contains(where: { $0.contains("transient engine failure; retrying") }),
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(harness.logs.all.contains(where: { $0.contains("transient engine failure; retrying") }))
        #expect(rename(keyring + ".away", keyring) == 0)
        let outcome = try await accepting.value
        guard case .imported = outcome else {
            Issue.record("expected imported, got \(outcome)")
            return
        }
        #expect(try await harness.store.read { try $0.listRejected() }.isEmpty)
        await harness.close()
    }

    /// While the failure lasts beyond the pipeline's retries, `accept` throws (the runner keeps the message in the
    /// spool and defers it): no rejection, nothing kept as rejected, and the message is imported later.
    @Test func aLastingEngineFailureKeepsTheMessageInTheSpool() async throws {
        let harness = try await PipelineHarness()
        let pipeline = Pipeline(store: harness.store, pgp: harness.pgp, configuration: harness.pipeline.configuration,
                                logger: harness.logs.logger("pipeline"),
                                engineRetry: EngineRetry(attempts: 2, firstDelay: .milliseconds(10)))
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
        let raw = try await Self.knownClientMail(harness, "dauer@example.net", id: "retry-2")
        try await PipelineHarness.spool(raw, from: "dauer@example.net", into: intake)
        let keyring = harness.root.appendingPathComponent("gw/pubring.kbx").path
        try FileManager.default.moveItem(atPath: keyring, toPath: keyring + ".away")
        // The last import's backup goes too: with it, KeyboxRepair would put a keyring back at once.
        _ = rename(keyring + "~", keyring + ".backup-away")
        let runner = PipelineRunner(spool: intake, pipeline: pipeline, logger: harness.logs.logger("runner"))
        await runner.drain()
        #expect(try intake.pending().count == 1)
        #expect(harness.logs.all.contains(where: { $0.contains("failed in the engine; message kept in the spool") }))
        #expect(try await harness.store.read { try $0.listRejected() }.isEmpty)
        let rejections = try await harness.store.read {
            try $0.latestAuditEntries(AuditFilter(), limit: 100).filter { $0.event == .inboundEncryptedRejected }
        }
        #expect(rejections.isEmpty)
        // The engine recovers; the deferred message goes through on a later round.
        #expect(rename(keyring + ".away", keyring) == 0)
        try await Task.sleep(for: .seconds(5.2))
        await runner.drain()
        #expect(try intake.pending().isEmpty)
        #expect(try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }.count == 1)
        await harness.close()
    }

    @Test func deferralGrowsAndIsCapped() {
        let deferral = TransientDeferral()
        #expect(deferral.delay(afterFailures: 1) == .seconds(5))
        #expect(deferral.delay(afterFailures: 2) == .seconds(10))
        #expect(deferral.delay(afterFailures: 8) == .seconds(600))
        #expect(deferral.delay(afterFailures: 100) == .seconds(600))
    }
}
