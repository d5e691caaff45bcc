import Foundation
@testable import MailBridge
import Testing
import ThreadStore

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

    /// Locks `key` with five failures at `now`; returns how long the lock lasts (to the second).
    static func lock(_ limit: inout LoginRateLimit, _ key: String, at now: Date) -> TimeInterval {
        for _ in 0..<5 { limit.recordFailure(key, now: now) }
        var seconds = 0.0
        while limit.isLocked(key, now: now + seconds) { seconds += 60 }
        return seconds
    }

    @Test func repeatedLocksDoubleUpToADayAndAQuietDayResets() {
        var limit = LoginRateLimit()
        var now = start
        var durations: [TimeInterval] = []
        for _ in 0..<9 {
            let duration = Self.lock(&limit, "account:7", at: now)
            durations.append(duration)
            now += duration
        }
        #expect(durations.map { $0 / 60 } == [15, 30, 60, 120, 240, 480, 960, 1_440, 1_440])
        // Failures after the lock ended but within the escalation memory still escalate ...
        #expect(Self.lock(&limit, "account:7", at: now + 23 * 3600) == 24 * 3600)
        // ... a whole quiet day after the last lock ended starts again at 15 minutes.
        now += 23 * 3600 + 24 * 3600
        #expect(Self.lock(&limit, "account:7", at: now + 24 * 3600 + 1) == 15 * 60)
        // Another key is not affected.
        #expect(Self.lock(&limit, "account:8", at: start) == 15 * 60)
    }

    @Test func userNameLocksDoNotEscalate() {
        var limit = LoginRateLimit()
        var now = start
        for _ in 0..<5 {
            let duration = Self.lock(&limit, "user:anna", at: now)
            #expect(duration == 15 * 60)
            now += duration
        }
    }

    @Test func aFloodOfFreshKeysDoesNotEraseTheMemoryOfALock() {
        var policy = LoginRateLimit.Policy()
        policy.maximumKeys = 50
        var limit = LoginRateLimit(policy: policy)
        #expect(Self.lock(&limit, "account:7", at: start) == 15 * 60)
        let later = start + 16 * 60
        for index in 0..<500 { limit.recordFailure("ip:flood\(index)", now: later) }
        #expect(limit.entries.count <= 50)
        // The second lock of the account still counts as a repeat.
        #expect(Self.lock(&limit, "account:7", at: later + 1) == 30 * 60)
    }

    @Test(arguments: [
        ("2001:db8:1:2:a:b:c:d", "ip:2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "ip:2001:db8:1:2::/64"),
        ("[2001:DB8:1:2:ffff::1]", "ip:2001:db8:1:2::/64"),
        ("fe80::1%eth0", "ip:fe80:0:0:0::/64"),
        ("::ffff:192.0.2.1", "ip:192.0.2.1"),
        ("64:ff9b::c000:201", "ip:192.0.2.1"),
        ("64:ff9b::1:c000:201", "ip:64:ff9b:0:0::/64"),
        ("192.0.2.1:51234", "ip:192.0.2.1"),
        ("[2001:db8:1:2::7]:443", "ip:2001:db8:1:2::/64"),
        ("192.0.2.1", "ip:192.0.2.1"),
        ("unknown", "ip:unknown"),
        ("2001:db8::zz", "ip:2001:db8::zz"),
    ])
    func addressKeys(_ address: String, _ key: String) {
        #expect(LoginRateLimit.addressKey(address) == key)
    }
}

/// The device-cookie MAC and accounts of a real store file with a fresh master key (removed with the value).
final class DeviceMACStore: Sendable {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("mb-device-\(UUID().uuidString)")
    let store: ThreadStore
    static let hash = "$2b$04$" + String(repeating: "a", count: 53)

    init() throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        store = try ThreadStore(at: root.appendingPathComponent("threads.sqlite"), masterKey: .generate())
    }

    deinit {
        try? store.close()
        try? FileManager.default.removeItem(at: root)
    }

    var mac: (Data) -> Data { { [store] in store.webDeviceMAC($0) } }

    /// A new account named `name`, as stored.
    func account(_ name: String) async throws -> Account {
        try await store.write { tx in
            let id = try tx.createAccount(
                NewAccount(username: name, displayName: name, role: .counsellor, fields: [],
                           passwordHash: Self.hash), actor: nil)
            return try tx.reader.account(id)!
        }
    }
}

@Suite struct DeviceCookieTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func roundTripIsBoundToTheAccountAndItsPasswordAndExpires() async throws {
        let keys = try DeviceMACStore()
        let mac = keys.mac
        let anna = try await keys.account("anna")
        let bert = try await keys.account("bert")
        let value = DeviceCookie.issue(for: anna, now: now, mac: mac)
        #expect(value.utf8.count <= DeviceCookie.maximumLength)
        #expect(!value.lowercased().contains("anna") && !value.contains(anna.id.unredactedDescription))
        let device = try #require(DeviceCookie(value, account: anna, now: now + 3600, mac: mac))
        #expect(device.id.count == 32)
        #expect(DeviceCookie(value, account: bert, now: now, mac: mac) == nil)
        #expect(DeviceCookie(value, account: anna, now: now + DeviceCookie.lifetime, mac: mac) == nil)
        #expect(DeviceCookie(value, account: anna, now: now - 3600, mac: mac) == nil)
        // A new password (change or reset) revokes it.
        try await Task.sleep(nanoseconds: 5_000_000)
        let changed = try await keys.store.write { tx in
            try tx.resetPassword(of: anna.id, passwordHash: DeviceMACStore.hash, actor: nil)
            return try tx.reader.account(anna.id)!
        }
        #expect(changed.passwordChangedAt != anna.passwordChangedAt)
        #expect(DeviceCookie(value, account: changed, now: now, mac: mac) == nil)
        // A re-created name is another account.
        try await keys.store.deleteAccount(anna.id)
        let newAnna = try await keys.account("anna")
        #expect(DeviceCookie(value, account: newAnna, now: now, mac: mac) == nil)
        // Another master key does not accept it.
        let other = try DeviceMACStore()
        #expect(DeviceCookie(value, account: anna, now: now, mac: other.mac) == nil)
        // Two issues give two devices.
        let second = try #require(DeviceCookie(DeviceCookie.issue(for: anna, now: now, mac: mac),
                                               account: anna, now: now, mac: mac))
        #expect(second.id != device.id)
    }

    @Test func tamperedOrMalformedValuesAreRefused() async throws {
        let keys = try DeviceMACStore()
        let mac = keys.mac
        let anna = try await keys.account("anna")
        let value = DeviceCookie.issue(for: anna, now: now, mac: mac)
        var parts = value.split(separator: ".").map(String.init)
        let original = parts
        parts[1] = String(Int(parts[1])! - 1)
        #expect(DeviceCookie(parts.joined(separator: "."), account: anna, now: now, mac: mac) == nil)
        parts = original
        parts[2] = String(parts[2].reversed())
        #expect(DeviceCookie(parts.joined(separator: "."), account: anna, now: now, mac: mac) == nil)
        parts = original
        parts[3] = String(repeating: "0", count: 64)
        #expect(DeviceCookie(parts.joined(separator: "."), account: anna, now: now, mac: mac) == nil)
        for junk in ["", "1", "1...", "2." + original.dropFirst().joined(separator: "."), value + ".x",
                     value + String(repeating: "a", count: 200)] {
            #expect(DeviceCookie(junk, account: anna, now: now, mac: mac) == nil)
        }
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
            return (ContinuousClock.now - start).timeInterval
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

@Suite struct AdmissionLimitTests {
    @Test func refusesBeyondTheLimitWithoutQueueingAndFreesTheSlotAfterwards() async throws {
        let limit = AdmissionLimit(limit: 2)
        let (entered, enteredSink) = AsyncStream<Void>.makeStream()
        // One release stream per holder: an AsyncStream has a single consumer.
        let releases = (0..<2).map { _ in AsyncStream<Void>.makeStream() }
        let holders = releases.map { release in
            Task {
                await limit.run {
                    enteredSink.yield()
                    for await _ in release.stream {}
                    return 1
                }
            }
        }
        var iterator = entered.makeAsyncIterator()
        for _ in 0..<2 { _ = await iterator.next() }
        // Two are running: a third is refused at once, its body never runs.
        let third = await limit.run { () async -> Int in Issue.record("ran beyond the limit"); return 3 }
        #expect(third == nil)
        for release in releases { release.continuation.finish() }
        for holder in holders { #expect(await holder.value == 1) }
        #expect(await limit.run { 4 } == 4)
    }
}
