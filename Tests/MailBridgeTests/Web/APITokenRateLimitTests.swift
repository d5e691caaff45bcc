import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailBridge
import Testing
import ThreadStore

/// Issue 25, item 5: bearer-token guessing is limited like password guessing, per client address (an IPv6 address
/// per /64), with 429 and `Retry-After`; a valid token from another address keeps working. The harness trusts
/// `X-Real-IP` as the client address (`[web] client-address-header`).
@Suite struct APITokenRateLimitTests {
    static let wrong = "Bearer mbt_" + String(repeating: "0", count: 64)

    @Test func wrongTokensLockTheAddressNotTheToken() async throws {
        let harness = try WebAuthHarness()
        let id = try await harness.createAccount()
        let token = try await harness.store.write { tx in
            try tx.createAPIToken(for: id, label: "platform", actor: nil)
        }
        let valid = "Bearer \(token.token)"
        let failures = LoginRateLimit.Policy().maximumFailures
        try await harness.application().test(.router) { client in
            func get(_ authorization: String, from address: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/probe", method: .get,
                                         headers: [.authorization: authorization, .init("X-Real-IP")!: address])
            }
            // 300 guesses from one address: the first few get 401, every later one 429 with Retry-After.
            var statuses: [HTTPResponse.Status] = []
            var retryAfter: [Int] = []
            for _ in 0..<300 {
                let response = try await get(Self.wrong, from: "192.0.2.1")
                statuses.append(response.status)
                if response.status == .tooManyRequests {
                    retryAfter.append(Int(response.headers[.retryAfter] ?? "") ?? -1)
                }
            }
            #expect(statuses.prefix(failures).allSatisfy { $0 == .unauthorized })
            #expect(statuses.dropFirst(failures).allSatisfy { $0 == .tooManyRequests })
            #expect(retryAfter.count == 300 - failures)
            #expect(retryAfter.allSatisfy { $0 > 0 && $0 <= 15 * 60 }, "Retry-After: \(Set(retryAfter))")
            // While the address is locked even the valid token gets 429 (a right guess must not look different) …
            #expect(try await get(valid, from: "192.0.2.1").status == .tooManyRequests)
            // … and a malformed header counts the same.
            #expect(try await get("Basic YW5uYTpwdw==", from: "192.0.2.1").status == .tooManyRequests)
            // The valid token from another address is not locked out.
            let other = try await get(valid, from: "192.0.2.2")
            #expect(other.status == .ok && String(buffer: other.body) == "\(id.unredactedDescription) true")

            // IPv6: one /64 is one address.
            for index in 1...failures {
                #expect(try await get(Self.wrong, from: "2001:db8:1:2::\(index)").status == .unauthorized)
            }
            #expect(try await get(valid, from: "2001:db8:1:2:ffff::9").status == .tooManyRequests)
            #expect(try await get(valid, from: "2001:db8:1:3::1").status == .ok)

            // The lock ends; the valid token works again from the first address.
            harness.clock.advance(15 * 60 + 1)
            #expect(try await get(valid, from: "192.0.2.1").status == .ok)
        }
        try await WebAuthTests.expectNoSecrets(harness, [token.token])
    }
}
