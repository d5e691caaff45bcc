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

    /// Issue 28: key imports (which rewrite pubring.kbx) beside decryptions and key look-ups on one GnuPG home.
    /// Without the keyring lock, GnuPG alone fails a few per cent of such decryptions ("No secret key", an unknown
    /// signer); with it, none fails.
    @Test func importsBesideDecryptionsNeverFailThem() async throws {
        let fixture = try GnuPGFixture(concurrency: 3)
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("stamm@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let ciphertext = try fixture.clientGPG(["--sign", "--local-user", client.hex, "--encrypt", "--recipient",
                                                gateway.hex], stdin: Array("Hallo".utf8)).stdout
        // Keys of new clients, as their first messages' Autocrypt headers bring them.
        var newKeys: [[UInt8]] = []
        for index in 0..<24 {
            let key = try fixture.makeClientKey("neu\(index)@example.net")
            newKeys.append(try fixture.clientGPG(["--export", key.hex]).stdout)
        }
        let service = fixture.service
        let keys = newKeys
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for key in keys { _ = try await service.importPublicKeys(key) }
                return 0
            }
            for _ in 0..<3 {
                group.addTask {
                    var failed = 0
                    for _ in 0..<30 {
                        let outcome = try await service.decryptAndVerify(ciphertext)
                        if outcome.message?.signature != .good(signer: client) { failed += 1 }
                        if try await service.key(client) == nil { failed += 1 }
                    }
                    return failed
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(failures == 0)
        await fixture.close()
    }
}
