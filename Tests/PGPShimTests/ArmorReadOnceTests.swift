import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// The armor of a message is decoded once, by PGPShim, and gpg gets the decoded packets: the shape check, gpg's
/// decryption and the in-process unwrap (which reads the signature packets for the Intended Recipient check) read
/// the very same octets, so no armor that gpg reads one way and PGPShim another can show the unwrap other signature
/// packets than the ones gpg verified.
@Suite struct ArmorReadOnceTests {
    /// A checksum line that does not match: gpg reading the armor itself refuses it ("CRC error"); decoded by
    /// PGPShim (which skips the checksum, as RFC 9580 §6.1 asks) it decrypts, with one gpg run. So gpg read
    /// PGPShim's octets, not the armor.
    @Test func gpgDecryptsThePacketsPGPShimDecoded() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("armor@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let text = "Armor read once \(UUID().uuidString)"
        let armored = try fixture.clientGPG(["--armor", "--sign", "--local-user", client.hex,
                                             "--encrypt", "--recipient", gateway.hex], stdin: Array(text)).stdout.text
        var lines = armored.components(separatedBy: "\n")
        let checksum = try #require(lines.firstIndex { $0.hasPrefix("=") && $0.count == 5 })
        lines[checksum] = lines[checksum] == "=AAAA" ? "=BBBB" : "=AAAA"
        let damaged = Array(lines.joined(separator: "\n").utf8)

        // gpg reading this armor itself refuses it (GnuPG 2.2.40: "CRC error", exit 2).
        let direct = try fixture.clientGPG(["--dearmor"], stdin: damaged, allowFailure: true)
        #expect(direct.status != 0, "gpg accepted a wrong armor checksum; this test no longer shows who decodes")

        let outcome = try await fixture.service.decryptAndVerify(damaged)
        let message = try #require(outcome.message, "expected plaintext, got \(outcome)")
        #expect(message.plaintext.bytes.text == text)
        #expect(message.signature == .good(signer: client))
        #expect(message.engineRuns == 1)
        await fixture.close()
    }
}
