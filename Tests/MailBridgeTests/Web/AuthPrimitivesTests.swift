import Foundation
@testable import MailBridge
import Testing

@Suite struct LoginRateLimitTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func fiveFailuresWithinTheWindowLockForFifteenMinutes() {
        var limit = LoginRateLimit()
        for minute in 0..<4 {
            let locked = limit.recordFailure("user:anna", now: start + Double(minute) * 60)
            #expect(locked == false)
        }
        #expect(limit.isLocked("user:anna", now: start + 240) == false)
        let locked = limit.recordFailure("user:anna", now: start + 300)
        #expect(locked)
        #expect(limit.isLocked("user:anna", now: start + 300 + 899))
        #expect(limit.isLocked("user:anna", now: start + 300 + 900) == false)
        #expect(limit.isLocked("user:bert", now: start + 300) == false)
    }

    @Test func failuresOutsideTheWindowDoNotCount() {
        var limit = LoginRateLimit()
        for index in 0..<10 { limit.recordFailure("ip:192.0.2.1", now: start + Double(index) * 240) }
        // At most four failures fall into any 15-minute window.
        #expect(limit.isLocked("ip:192.0.2.1", now: start + 9 * 240) == false)
    }

    @Test func successForgetsFailuresButNotARunningLock() {
        var limit = LoginRateLimit()
        for _ in 0..<4 { limit.recordFailure("user:anna", now: start) }
        limit.recordSuccess("user:anna", now: start)
        let lockedAfterOne = limit.recordFailure("user:anna", now: start)
        #expect(lockedAfterOne == false)
        for _ in 0..<4 { limit.recordFailure("user:anna", now: start) }
        #expect(limit.isLocked("user:anna", now: start))
        limit.recordSuccess("user:anna", now: start)
        #expect(limit.isLocked("user:anna", now: start + 1))
    }

    @Test func theTableStaysBounded() {
        var policy = LoginRateLimit.Policy()
        policy.maximumKeys = 100
        var limit = LoginRateLimit(policy: policy)
        for index in 0..<1_000 { limit.recordFailure("ip:\(index)", now: start + Double(index)) }
        #expect(limit.entries.count <= 100)
        for _ in 0..<5 { limit.recordFailure("user:anna", now: start + 1_000) }
        for index in 0..<1_000 { limit.recordFailure("ip:x\(index)", now: start + 1_001) }
        // The locked key survives pruning; the table stays at the bound.
        #expect(limit.isLocked("user:anna", now: start + 1_002))
        #expect(limit.entries.count <= 100)
    }
}

@Suite struct TOTPAuthenticatorTests {
    /// RFC 6238 Appendix B, SHA-1 seed "12345678901234567890": T=59 → 94287082, T=1111111109 → 07081804
    /// (the last six digits for a 6-digit code).
    @Test(arguments: [(59.0, "287082"), (1_111_111_109.0, "081804"), (1_234_567_890.0, "005924"),
                      (2_000_000_000.0, "279037")])
    func rfc6238Vectors(time: Double, expected: String) {
        let secret = "12345678901234567890"
        let step = TOTPAuthenticator.step(at: Date(timeIntervalSince1970: time))
        #expect(TOTPAuthenticator.code(secret: secret, step: step) == expected)
        #expect(TOTPAuthenticator.verify(code: expected, secret: secret, at: Date(timeIntervalSince1970: time)) == step)
    }

    @Test func oneStepOfDriftEitherWayAndNoMore() {
        let secret = TOTPAuthenticator.generateSecret()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let step = TOTPAuthenticator.step(at: now)
        for offset: Int64 in [-1, 0, 1] {
            #expect(TOTPAuthenticator.verify(code: TOTPAuthenticator.code(secret: secret, step: step + offset),
                                             secret: secret, at: now) == step + offset)
        }
        for offset: Int64 in [-3, -2, 2, 3] {
            let code = TOTPAuthenticator.code(secret: secret, step: step + offset)
            let nearby = (-1...1).map { TOTPAuthenticator.code(secret: secret, step: step + Int64($0)) }
            if !nearby.contains(code) { #expect(TOTPAuthenticator.verify(code: code, secret: secret, at: now) == nil) }
        }
        #expect(TOTPAuthenticator.verify(code: "12345", secret: secret, at: now) == nil)
        #expect(TOTPAuthenticator.verify(code: "abcdef", secret: secret, at: now) == nil)
    }

    @Test func secretsAreRandomAndBase32MatchesRFC4648() {
        #expect(TOTPAuthenticator.base32("foobar") == "MZXW6YTBOI")  // RFC 4648 §10 (without padding)
        #expect(TOTPAuthenticator.base32("f") == "MY")
        let secrets = Set((0..<50).map { _ in TOTPAuthenticator.generateSecret() })
        #expect(secrets.count == 50 && secrets.allSatisfy { $0.count == 32 })
        let uri = TOTPAuthenticator.provisioningURI(secret: "foobar", username: "anna", issuer: "MailBridge")
        #expect(uri.hasPrefix("otpauth://totp/MailBridge:anna?secret=MZXW6YTBOI"))
    }
}

@Suite struct PasswordTests {
    @Test func policy() {
        #expect(PasswordPolicy.check("kurz") == .tooShort)
        #expect(PasswordPolicy.check("elf-zeichen") == .tooShort)
        #expect(PasswordPolicy.check("zwölf-zeichen") == .acceptable)
        #expect(PasswordPolicy.check(String(repeating: "ä", count: 37)) == .tooLong)
        #expect(PasswordPolicy.check("zwölf-zeichen\n") == .controlCharacters)
        let generated = (0..<20).map { _ in PasswordPolicy.generate() }
        #expect(Set(generated).count == 20 && generated.allSatisfy { PasswordPolicy.check($0) == .acceptable })
    }

    @Test func hashAndVerifyIncludingUnknownUsers() async throws {
        let hasher = PasswordHasher(cost: 4)
        let hash = try await hasher.hash("correct horse battery")
        #expect(hash.hasPrefix("$2b$04$") && hash.count == 60)
        #expect(try await hasher.verify("correct horse battery", against: hash))
        #expect(try await hasher.verify("correct horse batterY", against: hash) == false)
        #expect(try await hasher.verify("correct horse battery", against: nil) == false)
    }

    /// Unknown user names cost as much as known ones (a dummy hash of the same cost is checked). Known and
    /// unknown checks alternate, so load on the machine hits both alike; medians of 9 each.
    @Test func unknownUserTakesAsLongAsAWrongPassword() async throws {
        let hasher = PasswordHasher(cost: 9)
        let hash = try await hasher.hash("correct horse battery")
        hasher.prepare()
        func seconds(_ target: String?) async throws -> Double {
            let start = ContinuousClock.now
            _ = try await hasher.verify("wrong password", against: target)
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        }
        var known: [Double] = []
        var unknown: [Double] = []
        for _ in 0..<9 {
            known.append(try await seconds(hash))
            unknown.append(try await seconds(nil))
        }
        let knownMedian = known.sorted()[4]
        let unknownMedian = unknown.sorted()[4]
        #expect(unknownMedian > knownMedian * 0.5 && unknownMedian < knownMedian * 2,
                "known \(knownMedian) s, unknown \(unknownMedian) s")
    }
}

@Suite struct WebAuthSettingsTests {
    @Test func mapsTheWebSection() {
        let defaults = WebAuthSettings(BridgeConfiguration.Web())
        #expect(defaults.secureCookies && defaults.requireSecondFactor && defaults.allowedOrigins.isEmpty)
        #expect(defaults.idleTimeout == 30 * 60 && defaults.absoluteTimeout == 12 * 3600 && defaults.bcryptCost == 12)
        var web = BridgeConfiguration.Web()
        web.secureCookies = false
        web.requireSecondFactor = false
        web.sessionIdleMinutes = 10
        web.sessionMaxHours = 8
        web.publicURL = "https://Inbox.Beratung.example:8443"
        let mapped = WebAuthSettings(web)
        #expect(!mapped.secureCookies && !mapped.requireSecondFactor)
        #expect(mapped.idleTimeout == 600 && mapped.absoluteTimeout == 8 * 3600)
        #expect(mapped.allowedOrigins == ["https://inbox.beratung.example:8443"])
    }
}
