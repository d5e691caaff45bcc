import Foundation
import Logging
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Exactly once across a crash between the store commit and the removal from the spool: the runner processes
/// the message again on restart, and the store's idempotency (or the redirect rate limit) keeps it at one effect.
@Suite struct PipelineRestartTests {
    @Test func crashAfterCommitBeforeSpoolRemovalHasOneEffect() async throws {
        let harness = try await PipelineHarness()
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
        let address = "klient@example.net"
        let client = try harness.client.makeKey(address)
        _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", client.hex]).stdout)
        let armored = try harness.client.gpg(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                              "--recipient", harness.gateway.hex], stdin: Array("Hallo".utf8)).stdout.text
        try await PipelineHarness.spool("From: \(address)\nTo: \(PipelineHarness.counselling)\nMessage-ID: <r1@example.net>\n"
                        + "Subject: x\n\n\(armored)", from: address, into: intake)
        try await PipelineHarness.spool("From: plain@example.net\nTo: \(PipelineHarness.counselling)\nSubject: x\n\nplain\n",
                        from: "plain@example.net", into: intake)

        // First run "crashes" after the pipeline committed each message but before the spool entry went away.
        for message in try intake.pending() { _ = try await harness.pipeline.accept(message) }
        #expect(try intake.pending().count == 2)

        // Restart: the runner sees both again, commits nothing new, and empties the spool.
        let runner = PipelineRunner(spool: intake, pipeline: harness.pipeline, logger: harness.logs.logger())
        await runner.drain()
        #expect(try intake.pending().isEmpty)
        let threads = try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }
        #expect(threads.count == 1)
        #expect(threads.first?.messageCount == 1)
        let outbox = try await harness.outbox()
        #expect(outbox.filter { $0.kind == .notification }.count == 1)
        #expect(outbox.filter { $0.kind == .redirectReply }.count == 1)
        await harness.close()
    }

    /// A message that keeps failing (here: the store is closed) is retried, then held in the spool, not lost.
    @Test func repeatedFailureHoldsTheMessageWithoutLosingIt() async throws {
        let harness = try await PipelineHarness()
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
        try await PipelineHarness.spool("From: plain@example.net\nTo: \(PipelineHarness.counselling)\nSubject: x\n\nplain\n",
                        from: "plain@example.net", into: intake)
        try harness.store.close()
        let runner = PipelineRunner(spool: intake, pipeline: harness.pipeline, logger: harness.logs.logger(),
                                    maximumAttempts: 2)
        for _ in 0..<4 { await runner.drain() }
        #expect(harness.logs.all.filter { $0.contains("inbound processing failed") }.count == 2)
        #expect(harness.logs.all.contains { $0.contains("message held in the spool") })
        #expect(try intake.pending().count == 1)
        await harness.close()
    }
}
