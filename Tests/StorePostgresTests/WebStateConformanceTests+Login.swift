import Foundation
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The composite login steps (each one transaction on its engine) behave alike on both engines, audit rows included.
extension WebStateConformanceTests {
    @Test(arguments: engines)
    func thePasswordStepReplacesThePreviousSessionAndPurgesEndedOnes(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let id = try await state.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        let idle: TimeInterval = 600
        let previous = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        let ended = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 10)
        let kept = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        let pending = try await state.startLogin(for: id, replacing: previous.token, secondFactorDone: false,
                                                 now: t0 + 20, lifetime: 300, idleTimeout: idle)
        #expect(try await state.webSession(token: previous.token, now: t0 + 20, idleTimeout: idle) == nil)
        #expect(try await state.webSession(token: kept.token, now: t0 + 20, idleTimeout: idle) != nil)
        let found = try #require(try await state.webSession(token: pending.token, now: t0 + 20, idleTimeout: idle))
        #expect(!found.secondFactorDone && found.expiresAt == t0 + 320 && found.csrfToken == pending.csrfToken)
        // The ended session was purged, not just refused: deleting it finds nothing.
        #expect(try await state.deleteWebSession(token: ended.token) == nil)
        let full = try await state.startLogin(for: id, replacing: nil, secondFactorDone: true, now: t0 + 30,
                                              lifetime: 3600, idleTimeout: idle)
        #expect(try await state.webSession(token: full.token, now: t0 + 30, idleTimeout: idle)?.secondFactorDone
            == true)
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await state.startLogin(for: .makeRandom(), replacing: nil, secondFactorDone: true, now: t0,
                                       lifetime: 60, idleTimeout: idle)
        }
        // Only the login that needed no code is audited as a success.
        #expect(try await WebStateEngines.audit(engine).suffix(1)
            == ["\(AuditEvent.loginSucceeded.rawValue)/-/\(id.unredactedDescription)"])
    }

    @Test(arguments: engines)
    func theSecondStepAcceptsEachTOTPStepOnceAndReplacesThePendingSession(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let id = try await state.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        try await state.enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 100, for: id)
        let idle: TimeInterval = 600
        let pending = try await state.startLogin(for: id, replacing: nil, secondFactorDone: false, now: t0,
                                                 lifetime: 300, idleTimeout: idle)
        // A used step changes nothing: the pending session stays.
        #expect(try await state.completeLogin(acceptingStep: 100, for: id, replacing: pending.token, now: t0,
                                              lifetime: 3600) == nil)
        #expect(try await state.webSession(token: pending.token, now: t0, idleTimeout: idle) != nil)
        let full = try #require(try await state.completeLogin(acceptingStep: 101, for: id, replacing: pending.token,
                                                              now: t0 + 5, lifetime: 3600))
        #expect(try await state.webSession(token: pending.token, now: t0 + 5, idleTimeout: idle) == nil)
        let session = try #require(try await state.webSession(token: full.token, now: t0 + 5, idleTimeout: idle))
        #expect(session.secondFactorDone && session.expiresAt == t0 + 3605 && full.token != pending.token)
        #expect(try await state.loginCredentials(username: "anna")?.lastTOTPStep == 101)
        #expect(try await state.completeLogin(acceptingStep: 101, for: id, replacing: full.token, now: t0 + 6,
                                              lifetime: 3600) == nil)
        #expect(try await state.webSession(token: full.token, now: t0 + 6, idleTimeout: idle) != nil)
        let events = try await WebStateEngines.audit(engine)
        #expect(events.filter { $0.hasPrefix("\(AuditEvent.loginSucceeded.rawValue)/") }
            == ["\(AuditEvent.loginSucceeded.rawValue)/-/\(id.unredactedDescription)"])
    }

    @Test(arguments: engines)
    func enrolmentAtLoginHappensOnce(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let id = try await state.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        let idle: TimeInterval = 600
        let pending = try await state.startLogin(for: id, replacing: nil, secondFactorDone: false, now: t0,
                                                 lifetime: 300, idleTimeout: idle)
        let full = try #require(try await state.completeLogin(
            enrolling: "JBSWY3DPEHPK3PXP", acceptedStep: 50, for: id, replacing: pending.token, now: t0 + 1,
            lifetime: 3600))
        #expect(try await state.webSession(token: pending.token, now: t0 + 1, idleTimeout: idle) == nil)
        #expect(try await state.webSession(token: full.token, now: t0 + 1, idleTimeout: idle)?.secondFactorDone
            == true)
        let credentials = try #require(try await state.loginCredentials(username: "anna"))
        #expect(credentials.totpSecret == "JBSWY3DPEHPK3PXP" && credentials.lastTOTPStep == 50)
        // A second enrolment (another browser, another node) changes nothing: secret, step and sessions stay.
        let other = try await state.startLogin(for: id, replacing: nil, secondFactorDone: false, now: t0 + 2,
                                               lifetime: 300, idleTimeout: idle)
        #expect(try await state.completeLogin(enrolling: "KRSXG5CTMVRXEZLU", acceptedStep: 60, for: id,
                                              replacing: other.token, now: t0 + 2, lifetime: 3600) == nil)
        #expect(try await state.loginCredentials(username: "anna")?.totpSecret == "JBSWY3DPEHPK3PXP")
        #expect(try await state.webSession(token: other.token, now: t0 + 2, idleTimeout: idle) != nil)
        #expect(try await state.completeLogin(enrolling: "KRSXG5CTMVRXEZLU", acceptedStep: 60, for: .makeRandom(),
                                              replacing: other.token, now: t0 + 2, lifetime: 3600) == nil)
        let actor = id.unredactedDescription
        #expect(try await WebStateEngines.audit(engine).suffix(2) == [
            "\(AuditEvent.secondFactorEnrolled.rawValue)/-/\(actor)",
            "\(AuditEvent.loginSucceeded.rawValue)/-/\(actor)",
        ])
    }

    @Test(arguments: engines)
    func logoutFailuresAndThePasswordChangeAreAudited(engine: String) async throws {
        let engine = try await WebStateEngines.engine(engine)
        let state = engine.state
        let field = try CounsellingField("x")
        let id = try await state.createAccount(WebStateEngines.newAccount("anna", fields: [field]), actor: nil, via: nil)
        let idle: TimeInterval = 600
        let one = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        let two = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        let three = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        try await state.logOut(token: one.token, of: id)
        #expect(try await state.webSession(token: one.token, now: t0, idleTimeout: idle) == nil)
        try await state.auditLoginFailure(reasons: [4, 3], actor: id)
        try await state.auditLoginFailure(reasons: [1], actor: nil)

        let newHash = "$2b$10$" + String(repeating: "b", count: 53)
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await state.changeOwnPassword(of: id, passwordHash: "clear text", keptSession: two.token)
        }
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await state.changeOwnPassword(of: .makeRandom(), passwordHash: newHash, keptSession: two.token)
        }
        let changed = try await state.changeOwnPassword(of: id, passwordHash: newHash, keptSession: two.token)
        #expect(changed.id == id && !changed.mustChangePassword && changed.fields == [field])
        #expect(changed.passwordChangedAt == t0)
        #expect(try await state.loginCredentials(username: "anna")?.passwordHash == newHash)
        #expect(try await state.webSession(token: two.token, now: t0, idleTimeout: idle) != nil)
        #expect(try await state.webSession(token: three.token, now: t0, idleTimeout: idle) == nil)

        let actor = id.unredactedDescription
        #expect(try await WebStateEngines.audit(engine).suffix(5) == [
            "\(AuditEvent.loggedOut.rawValue)/\(LogoutReason.logout)/\(actor)",
            "\(AuditEvent.loginFailed.rawValue)/4/\(actor)", "\(AuditEvent.loginFailed.rawValue)/3/\(actor)",
            "\(AuditEvent.loginFailed.rawValue)/1/-", "\(AuditEvent.passwordChanged.rawValue)/-/\(actor)",
        ])
    }

    @Test func bothEnginesMACDeviceCookiesAlike() async throws {
        let key = MasterKey.generate()
        let sqlite = try WebStateEngines.sqlite(masterKey: key)
        let postgres = try await WebStateEngines.postgres(masterKey: key)
        let message = Data("1.1800000000.0123456789abcdef0123456789abcdef".utf8)
        #expect(sqlite.state.webDeviceMAC(message) == postgres.states[0].webDeviceMAC(message))
        #expect(sqlite.state.webDeviceMAC(message) == sqlite.state.store.webDeviceMAC(message))
        #expect(sqlite.state.webDeviceMAC(message) != (try WebStateEngines.sqlite()).state.webDeviceMAC(message))
    }
}

extension WebStateEngines {
    /// The engine's audit rows, oldest first, as `event/count/actor` (`-` for none).
    static func audit(_ engine: EngineUnderTest) async throws -> [String] {
        if let sqlite = engine.keepAlive as? SQLiteWebState {
            return try await sqlite.state.store.read { tx in try tx.auditEntries() }.map { entry in
                "\(entry.event.rawValue)/\(entry.count.map(String.init) ?? "-")/"
                    + (entry.actor?.unredactedDescription ?? "-")
            }
        }
        let nodes = try #require(engine.keepAlive as? PostgresNodes)
        let text = try nodes.database.server.psql("""
            SELECT string_agg(a.event || '/' || coalesce(a.count::text, '-') || '/' || coalesce(a.actor_id, '-'),
                              ',' ORDER BY a.id) FROM audit a
            """, database: nodes.database.name)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? [] : trimmed.split(separator: ",").map(String.init)
    }
}
