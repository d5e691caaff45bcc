import Foundation
import PGPShim
import TestSupport
import Testing

@Suite struct ConcurrencyTests {
    /// Eight decryptions at once through a service allowing two concurrent contexts: all succeed, each gets
    /// its own plaintext back (no cross-talk between contexts).
    @Test func parallelDecryptionsReturnTheirOwnPlaintext() async throws {
        let fixture = try GnuPGFixture(concurrency: 2)
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        var messages: [(String, [UInt8])] = []
        for index in 0..<8 {
            let text = "Nachricht \(index) \(UUID().uuidString)"
            messages.append((text, try fixture.clientGPG(["--sign", "--local-user", client.hex, "--encrypt",
                                                          "--recipient", gateway.hex], stdin: Array(text)).stdout))
        }
        let service = fixture.service
        let results = try await withThrowingTaskGroup(of: (String, String?).self) { group in
            for (text, ciphertext) in messages {
                group.addTask { (text, try await service.decryptAndVerify(ciphertext).message?.plaintext.bytes.text) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 8)
        for (expected, actual) in results { #expect(actual == expected) }
        await fixture.close()
    }
}
