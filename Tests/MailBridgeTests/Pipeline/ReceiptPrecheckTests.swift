import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 23: a receipt the thread's rate limit refuses is not encrypted at all (ReceiptPrecheck.swift); one that
/// is due still is, and the receipts queued are exactly those of `ReceiptTests`. Real gpg, a real store; the gpg
/// runs are counted with strace.
@Suite struct ReceiptPrecheckTests: RedTeamHelpers {
    static let address = "klient@example.net"
    static let day: TimeInterval = 86_400

    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var current = Date()
        var now: Date { lock.withLock { current } }
        func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
    }

    /// gpg runs are counted by ``FaultingEngine`` (the real gpg behind a wrapper that notes each start).
    @Test func aRateLimitedReceiptIsNeverEncrypted() async throws {
        let clock = Clock()
        let engine = try FaultingEngine()
        let harness = try await PipelineHarness(receiptPeriod: Self.day, engine: engine.executable,
                                                now: { clock.now })
        let client = try harness.client.makeKey(Self.address)
        let header = try autocrypt(client, Self.address, in: harness.client)
        func signed(_ canary: String) throws -> [UInt8] {
            try encrypt(harness, inner(canary), signer: client)
        }
        func receipts() async throws -> Int { try await harness.outbox().filter { $0.kind == .receipt }.count }

        // The first message opens the thread: its receipt is due, encrypted and queued.
        var outcome: AcceptOutcome?
        engine.resetCounts()
        outcome = try await send(harness, from: Self.address, ciphertext: try signed("m0"), headers: header)
        #expect(imported(try #require(outcome)) != nil)
        #expect(engine.runs(withArgument: "--encrypt") == 1)
        #expect(try await receipts() == 1)

        // An hour later, in the same thread: no receipt is due, and none is encrypted.
        clock.advance(3600)
        engine.resetCounts()
        outcome = try await send(harness, from: Self.address, ciphertext: try signed("m1"), headers: header)
        #expect(imported(try #require(outcome)) != nil)
        #expect(engine.runs(withArgument: "--encrypt") == 0)
        #expect(engine.runs(.decryption) == 1)
        #expect(try await receipts() == 1)

        // After the period the next one is due again.
        clock.advance(Self.day)
        engine.resetCounts()
        outcome = try await send(harness, from: Self.address, ciphertext: try signed("m2"), headers: header)
        #expect(imported(try #require(outcome)) != nil)
        #expect(engine.runs(withArgument: "--encrypt") == 1)
        #expect(try await receipts() == 2)
        await harness.close()
    }
}
