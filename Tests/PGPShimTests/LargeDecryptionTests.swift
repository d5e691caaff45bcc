import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// Issue 23: large messages are decrypted with gpgme reading the caller's ciphertext in place and the plaintext
/// collected in one buffer reserved at the ciphertext's size. The cap and the wiping stay as strict.
@Suite struct LargeDecryptionTests {
    /// Writes `total` bytes of `byte` into `sink` in gpg-sized chunks; returns the capacities seen after each write.
    private func fill(_ sink: CappedSink, total: Int, byte: UInt8 = 0x41) -> (accepted: Int, capacities: Set<Int>) {
        let chunk = [UInt8](repeating: byte, count: 64 * 1024)
        var written = 0
        var capacities = Set<Int>()
        while written < total {
            let count = min(chunk.count, total - written)
            let result = chunk.withUnsafeBytes { sink.write($0.baseAddress!, count) }
            guard result == count else { break }
            written += count
            capacities.insert(sink.bytes.capacity)
        }
        return (written, capacities)
    }

    /// Incompressible bytes from the kernel.
    private func randomBytes(_ count: Int) throws -> [UInt8] {
        let file = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? file.close() }
        return Array(file.readData(ofLength: count))
    }

    @Test func sinkReservesTheExpectedSizeOnce() {
        let sink = CappedSink(limit: 8 * 1024 * 1024, expected: 3 * 1024 * 1024)
        let (accepted, capacities) = fill(sink, total: 3 * 1024 * 1024)
        #expect(accepted == 3 * 1024 * 1024)
        // One buffer for the whole output: no doubling, so no second buffer held beside the first.
        #expect(capacities.count == 1)
        #expect(capacities.first.map { $0 >= 3 * 1024 * 1024 && $0 < 4 * 1024 * 1024 } == true)
        #expect(sink.bytes.allSatisfy { $0 == 0x41 })
    }

    @Test func sinkWithoutAnExpectedSizeStillGrows() {
        let sink = CappedSink(limit: 8 * 1024 * 1024)
        let (accepted, capacities) = fill(sink, total: 1024 * 1024)
        #expect(accepted == 1024 * 1024)
        #expect(capacities.count > 1)
    }

    /// The expected size never lifts the cap: the reservation is clamped to the limit, the first byte over it
    /// fails the write, and what was collected is zeroed and dropped.
    @Test func sinkOverTheCapFailsAndIsEmptiedWhateverTheExpectedSize() {
        let sink = CappedSink(limit: 1024 * 1024, expected: 4 * 1024 * 1024)
        #expect(sink.expected == 1024 * 1024)
        let (accepted, _) = fill(sink, total: 1024 * 1024)
        #expect(accepted == 1024 * 1024)
        let one: [UInt8] = [0x42]
        #expect(one.withUnsafeBytes { sink.write($0.baseAddress!, 1) } == -1)
        #expect(sink.overflowed)
        #expect(sink.bytes.isEmpty)
        #expect(one.withUnsafeBytes { sink.write($0.baseAddress!, 1) } == -1)
    }

    /// A signed, compressed 12 MiB message: decrypted from the caller's bytes in place, verified, and its
    /// signature packets read by the second (unwrap) run, whose literal data is skipped rather than copied.
    @Test func largeSignedMessageDecryptsFromBorrowedInput() async throws {
        let fixture = try GnuPGFixture(maximumPlaintextBytes: 32 * 1024 * 1024)
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("gross@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        var plaintext = Array("CANARY-large-\(UUID().uuidString)\n".utf8)
        plaintext += try randomBytes(12 * 1024 * 1024)
        let ciphertext = try fixture.clientGPG(["--armor", "--compress-algo", "zlib", "--sign", "--local-user",
                                                client.hex, "--encrypt", "--recipient", gateway.hex],
                                               stdin: plaintext).stdout
        let outcome = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
        let message = try #require(outcome.message, "expected plaintext, got \(outcome)")
        #expect(message.plaintext.bytes == plaintext)
        #expect(message.signature == .good(signer: client))
        #expect(message.intendedRecipients == .none)  // inspected (gpg writes no intended recipients)
        // Over InProcessUnwrap.maximumMessageBytes: the second gpg run, which holds less at once.
        #expect(message.engineRuns == 2)
        await fixture.close()
    }

    /// Incompressible plaintext over the cap, so the ciphertext is larger than the cap and the reservation is
    /// clamped: the cap still fails the run, and the outcome says nothing about the content.
    @Test func largeMessageOverTheCapFailsWithoutContent() async throws {
        let fixture = try GnuPGFixture(maximumPlaintextBytes: 4 * 1024 * 1024)
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("zugross@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let canary = "CANARY-overcap-\(UUID().uuidString)"
        var plaintext = Array(canary.utf8)
        plaintext += try randomBytes(6 * 1024 * 1024)
        let ciphertext = try fixture.clientGPG(["--compress-algo", "none", "--sign", "--local-user", client.hex,
                                                "--encrypt", "--recipient", gateway.hex], stdin: plaintext).stdout
        #expect(ciphertext.count > 4 * 1024 * 1024)
        let outcome = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
        #expect(outcome.failure == .plaintextTooLarge(limit: 4 * 1024 * 1024))
        #expect(!"\(outcome)".contains(canary))
        await fixture.close()
    }
}
