import Foundation
import Logging
@testable import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 10: the runner processes several spooled messages at once, and that keeps exactly one thread per new
/// client and every client's messages in arrival order.
@Suite struct PipelineRunnerConcurrencyTests {
    /// A signed+encrypted message from `address` (its key must be in the client keyring).
    private func encrypted(_ harness: PipelineHarness, from address: String, key: KeyFingerprint, id: String) throws -> String {
        let armored = try harness.client.gpg(["--armor", "--sign", "--local-user", key.hex, "--encrypt", "--recipient",
                                              harness.gateway.hex], stdin: Array("Nachricht \(id)".utf8)).stdout.text
        return "From: \(address)\nTo: \(PipelineHarness.counselling)\nMessage-ID: <\(id)@example.net>\nSubject: x\n\n\(armored)"
    }

    @Test func lanesKeepSpoolOrderPerSender() throws {
        func message(_ sender: String, _ n: Int) throws -> InboundMessage {
            InboundMessage(envelope: InboundMessage.Envelope(
                reversePath: .mailbox(try EmailAddress(sender)), recipients: [], clientAddress: nil, receivedAt: Date(),
                queueID: QueueID.make(millisecondsSince1970: UInt64(n))), spoolFile: URL(fileURLWithPath: "/x\(n)"), size: 1)
        }
        let pending = [try message("a@example.net", 1), try message("b@example.net", 2), try message("A@example.net", 3),
                       try message("c@example.net", 4), try message("b@example.net", 5)]
        let lanes = PipelineRunner.lanes(pending).map { $0.map(\.spoolFile.lastPathComponent) }
        #expect(lanes == [["x1", "x3"], ["x2", "x5"], ["x4"]])
    }

    /// Three new clients, four messages each, spooled interleaved; the runner drains them two at a time.
    @Test func concurrentDrainMakesOneThreadPerClientInArrivalOrder() async throws {
        let harness = try await PipelineHarness()
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
        let clients = ["eins@example.net", "zwei@example.net", "drei@example.net"]
        var keys: [String: KeyFingerprint] = [:]
        for address in clients {
            keys[address] = try harness.client.makeKey(address)
            _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", keys[address]!.hex]).stdout)
        }
        for round in 0..<4 {
            for (index, address) in clients.enumerated() {
                try await PipelineHarness.spool(try encrypted(harness, from: address, key: keys[address]!, id: "c\(index)-m\(round)"),
                                from: address, into: intake)
            }
        }
        let runner = PipelineRunner(spool: intake, pipeline: harness.pipeline, logger: harness.logs.logger(),
                                    concurrency: 2)
        await runner.drain()
        #expect(try intake.pending().isEmpty)
        let threads = try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }
        #expect(threads.count == 3)
        for summary in threads {
            let opened = try await harness.store.read { try $0.openThread(summary.id) }
            let ids = opened.messages.map(\.messageID)
            #expect(ids.count == 4, "\(ids)")
            let client = ids.first.map { String($0.dropFirst().prefix(2)) } ?? ""
            #expect(ids == (0..<4).map { "<\(client)-m\($0)@example.net>" }, "\(ids)")
        }
        await harness.close()
    }

    /// Without the runner's lanes: two messages of the same new client go through `Pipeline.accept` at the same
    /// time, for ten clients at once. The store's serialized write transaction (thread lookup and insert of
    /// `importMessage(_:into: .client(…))` together) must still give each client exactly one thread.
    @Test func simultaneousFirstMessagesOfOneClientShareOneThread() async throws {
        let harness = try await PipelineHarness()
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
        let clients = (0..<10).map { "klient\($0)@example.net" }
        for address in clients {
            let key = try harness.client.makeKey(address)
            _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", key.hex]).stdout)
            for copy in 0..<2 {
                try await PipelineHarness.spool(try encrypted(harness, from: address, key: key, id: "\(address.prefix(8))-\(copy)"),
                                from: address, into: intake)
            }
        }
        let pending = try intake.pending()
        #expect(pending.count == 20)
        let pipeline = harness.pipeline
        let outcomes = try await withThrowingTaskGroup(of: AcceptOutcome.self) { group in
            for message in pending { group.addTask { try await pipeline.accept(message) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let created = outcomes.filter { if case .imported(_, createdThread: true) = $0 { true } else { false } }
        let joined = outcomes.filter { if case .imported(_, createdThread: false) = $0 { true } else { false } }
        #expect(created.count == 10)
        #expect(joined.count == 10)
        let threads = try await harness.store.read { try $0.listThreads(field: harness.mailbox.field) }
        #expect(threads.count == 10)
        #expect(threads.allSatisfy { $0.messageCount == 2 })
        await harness.close()
    }
}
