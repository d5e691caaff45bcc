import Foundation
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The web inbox's shared state behaves alike on both engines (issue 21): the same scenarios run unchanged against
/// ThreadStore on SQLite (``ThreadStoreWebState``) and ``PostgresWebState`` on a real PostgreSQL.
@Suite struct WebStateConformanceTests {
    static let engines = ["sqlite", "postgresql", "postgresql-gateway-role"]
    let t0 = WebStateEngines.start

    @Test(arguments: engines)
    func accountsAndTheirSecondFactor(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let field = try CounsellingField("family")
        let id = try await state.createAccount(WebStateEngines.newAccount("Anna", fields: [field]), actor: nil,
                                               via: .commandLine)
        let anna = try #require(try await state.account(named: "anna"))
        #expect(anna.id == id)
        #expect(anna.username == "Anna")
        #expect(anna.fields == [field])
        #expect(anna.role == .counsellor)
        #expect(!anna.hasSecondFactor && !anna.isDisabled)
        #expect(anna.createdAt == t0)
        #expect(try await state.account(named: "berta") == nil)
        #expect(try await state.account(named: "no spaces") == nil)
        await #expect(throws: ThreadStoreError.accountExists) {
            try await state.createAccount(WebStateEngines.newAccount("ANNA"), actor: nil, via: nil)
        }
        var clearPassword = WebStateEngines.newAccount("clara")
        clearPassword.passwordHash = "correct horse battery staple"
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await state.createAccount(clearPassword, actor: nil, via: nil)
        }

        let before = try #require(try await state.loginCredentials(username: "ANNA"))
        #expect(before.passwordHash == WebStateEngines.passwordHash)
        #expect(before.totpSecret == nil && before.lastTOTPStep == nil)
        try await state.enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 100, for: id)
        let after = try #require(try await state.loginCredentials(username: "anna"))
        #expect(after.totpSecret == "JBSWY3DPEHPK3PXP")
        #expect(after.lastTOTPStep == 100)
        #expect(after.account.hasSecondFactor)
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await state.enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 1, for: .makeRandom())
        }
    }

    @Test(arguments: engines)
    func eachTOTPStepIsAcceptedOnce(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let id = try await state.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        #expect(try await state.acceptTOTPStep(5, for: id))
        try await state.enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 100, for: id)
        let answers = [
            try await state.acceptTOTPStep(100, for: id), try await state.acceptTOTPStep(99, for: id),
            try await state.acceptTOTPStep(101, for: id), try await state.acceptTOTPStep(101, for: id),
            try await state.acceptTOTPStep(103, for: id), try await state.acceptTOTPStep(102, for: id),
        ]
        #expect(answers == [false, false, true, false, true, false])
        #expect(try await state.loginCredentials(username: "anna")?.lastTOTPStep == 103)
        #expect(try await !state.acceptTOTPStep(200, for: .makeRandom()))
    }

    @Test(arguments: engines)
    func sessionsAreTouchedAndEnd(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let id = try await state.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        let idle: TimeInterval = 600
        let new = try await state.createWebSession(for: id, secondFactorDone: false, now: t0, lifetime: 3600)
        #expect(new.expiresAt == t0 + 3600)
        #expect(new.token.utf8.count == 64 && new.csrfToken.utf8.count == 64 && new.token != new.csrfToken)
        let found = try #require(try await state.webSession(token: new.token, now: t0 + 10, idleTimeout: idle))
        #expect(found.account.id == id && found.csrfToken == new.csrfToken && !found.secondFactorDone)
        #expect(found.createdAt == t0 && found.lastSeenAt == t0 && found.expiresAt == t0 + 3600)

        // A request at +500 moves the idle end to +1100, on the stored row.
        let touched = try await state.authenticateWebSession(token: new.token, now: t0 + 500, idleTimeout: idle)
        #expect(touched?.lastSeenAt == t0 + 500)
        #expect(try await state.webSession(token: new.token, now: t0 + 1000, idleTimeout: idle)?.lastSeenAt == t0 + 500)
        #expect(try await state.webSession(token: new.token, now: t0 + 1100, idleTimeout: idle) == nil)
        // An ended session is deleted when it is next presented: asking again "earlier" finds nothing.
        #expect(try await state.authenticateWebSession(token: new.token, now: t0 + 1100, idleTimeout: idle) == nil)
        #expect(try await state.webSession(token: new.token, now: t0 + 600, idleTimeout: idle) == nil)

        // The absolute end.
        let short = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 60)
        #expect(try await state.authenticateWebSession(token: short.token, now: t0 + 59, idleTimeout: idle)?
            .secondFactorDone == true)
        #expect(try await state.authenticateWebSession(token: short.token, now: t0 + 60, idleTimeout: idle) == nil)

        // Logout, and the sessions of an account.
        let one = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        #expect(try await state.deleteWebSession(token: one.token) == id)
        #expect(try await state.deleteWebSession(token: one.token) == nil)
        #expect(try await state.deleteWebSession(token: "not-a-token") == nil)
        let other = try await state.createAccount(WebStateEngines.newAccount("berta"), actor: nil, via: nil)
        _ = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        _ = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        let hers = try await state.createWebSession(for: other, secondFactorDone: true, now: t0, lifetime: 3600)
        #expect(try await state.deleteWebSessions(of: id) == 2)
        #expect(try await state.webSession(token: hers.token, now: t0, idleTimeout: idle)?.account.id == other)

        // Purging ended sessions.
        _ = try await state.createWebSession(for: other, secondFactorDone: true, now: t0, lifetime: 100)
        #expect(try await state.purgeExpiredWebSessions(now: t0 + 200, idleTimeout: 10_000) == 1)
        #expect(try await state.webSession(token: hers.token, now: t0 + 200, idleTimeout: 10_000) != nil)

        #expect(try await state.webSession(token: String(repeating: "0", count: 64), now: t0, idleTimeout: idle) == nil)
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await state.createWebSession(for: .makeRandom(), secondFactorDone: false, now: t0, lifetime: 60)
        }
    }

    @Test(arguments: engines)
    func redirectsGoOncePerPeriod(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let client = state.senderHMAC(canonicalAddress: "client@example.org")
        let period: TimeInterval = 60
        let answers = [
            try await state.shouldSendRedirect(to: client, now: t0, period: period),
            try await state.shouldSendRedirect(to: client, now: t0 + 59.999, period: period),
            try await state.shouldSendRedirect(to: client, now: t0 + 60, period: period),
            try await state.shouldSendRedirect(to: state.senderHMAC(canonicalAddress: "other@example.org"),
                                               now: t0 + 60, period: period),
            // The clock went back: a time before the last reply does not block.
            try await state.shouldSendRedirect(to: client, now: t0 + 30, period: period),
        ]
        #expect(answers == [true, false, true, true, true])
        #expect(try await state.recordOnce("fetch-failed 1a2b 7", now: t0, period: 86_400))
        #expect(try await !state.recordOnce("fetch-failed 1a2b 7", now: t0 + 3600, period: 86_400))
        #expect(try await state.recordOnce("fetch-failed 1a2b 8", now: t0 + 3600, period: 86_400))
        #expect(try await state.recordOnce("fetch-failed 1a2b 7", now: t0 + 86_400, period: 86_400))
    }

    @Test(arguments: engines)
    func loginLocksKeepTheirRecord(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        #expect(try await state.loginLock("user:anna") == nil)
        var last: LoginLockRecord?
        for second in 0..<3 {
            last = try await state.updateLoginLock("user:anna", now: t0 + Double(second)) {
                Self.failThreeTimesThenLock(&$0, now: WebStateEngines.start + Double(second))
            }
        }
        let record = try #require(last)
        #expect(record.failures.isEmpty && record.locks == 1)
        #expect(record.lockedUntil == t0 + 2 + 900)
        #expect(record.changedAt == t0 + 2)
        #expect(try await state.loginLock("user:anna") == record)
        #expect(try await state.loginLock("ip:192.0.2.1") == nil)
        let other = try await state.updateLoginLock("ip:192.0.2.1", now: t0 + 7) { $0.failures.append(self.t0) }
        #expect(other.failures == [t0] && other.lockedUntil == nil && other.changedAt == t0 + 7)
        // A record keeps the newest failures only.
        let long = try await state.updateLoginLock("ip:192.0.2.2", now: t0) { record in
            record.failures = (0..<100).map { self.t0 + Double($0) }
        }
        #expect(long.failures.count == LoginLockRecord.maximumFailures && long.failures.last == t0 + 99)
    }

    @Test func bothEnginesKeyLookupsAlike() async throws {
        let key = MasterKey.generate()
        let sqlite = try WebStateEngines.sqlite(masterKey: key)
        let postgres = try await WebStateEngines.postgres(masterKey: key)
        let address = "client@example.org"
        #expect(sqlite.state.senderHMAC(canonicalAddress: address)
            == postgres.states[0].senderHMAC(canonicalAddress: address))
        #expect(sqlite.state.store.senderHMAC(canonicalAddress: address)
            != (try await WebStateEngines.postgres()).states[0].senderHMAC(canonicalAddress: address))
    }

    /// A small limiter rule for the scenario (the web inbox's own is `LoginRateLimit`): three failures lock for
    /// 15 minutes.
    static func failThreeTimesThenLock(_ record: inout LoginLockRecord, now: Date) {
        record.failures.append(now)
        if record.failures.count >= 3 {
            record.locks += 1
            record.lockedUntil = now + 900
            record.failures = []
        }
    }
}
