import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// A flipped octet of a signed and encrypted message ends in a verdict: never plaintext (integrity
/// protection), never an error that is neither verdict nor transient (the runner would hold such a message in the
/// spool for good instead of answering it). With GnuPG 2.2.40 one flip of 297 made gpgme answer "Invalid object",
/// which was such an error (now `corrupted`); it depends on the random key and session key, so this sample of 80
/// flips need not hit it in every run. Most end as corrupted or not-encrypted (a damaged packet header).
@Suite struct FlippedOctetTests {
    @Test(.timeLimit(.minutes(2))) func everyFlippedOctetGetsAVerdict() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let ciphertext = try fixture.clientGPG(["--sign", "--local-user", client.hex, "--encrypt", "--recipient",
                                                gateway.hex], stdin: Array("Hallo Beratung".utf8)).stdout
        var verdicts: [String: Int] = [:]
        var others: [String] = []
        // Every octet of the packet headers and the key packet, then every 8th (all 297 took 100 s: a flip that
        // ends gpg without a verdict costs four runs).
        let positions = Array(0..<min(48, ciphertext.count)) + Array(stride(from: 48, to: ciphertext.count, by: 8))
        for position in positions {
            var corrupt = ciphertext
            corrupt[position] ^= 0xFF
            do {
                switch try await fixture.service.decryptAndVerify(corrupt, forKeys: [gateway]) {
                case .failed(let failure): verdicts["\(failure)", default: 0] += 1
                case .decrypted: others.append("octet \(position): decrypted")
                }
            } catch let error as PGPError where error.isTransient {
                verdicts["transient", default: 0] += 1  // a retry, not a verdict; allowed, counted
            } catch {
                others.append("octet \(position): \(error)")
            }
        }
        print("\(positions.count) flipped octets of \(ciphertext.count): \(verdicts.sorted { $0.value > $1.value })")
        #expect(others.isEmpty, "\(others)")
        #expect(verdicts.values.reduce(0, +) == positions.count)
        await fixture.close()
    }
}
