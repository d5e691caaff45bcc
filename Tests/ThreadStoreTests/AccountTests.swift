import Foundation
import GRDB
import Testing
@testable import ThreadStore

@Suite struct AccountTests {
    /// A well-formed bcrypt string (the store never hashes; MailBridge does).
    static let hash = "$2b$04$" + String(repeating: "a", count: 53)
    static let otherHash = "$2b$04$" + String(repeating: "b", count: 53)

    static func new(_ name: String = "anna", role: CounsellorRole = .counsellor) -> NewAccount {
        NewAccount(username: name, displayName: "Anna Beispiel", role: role, language: .german,
                   fields: [Sample.field], passwordHash: hash)
    }

    @Test func createListFindAndRefuseDuplicateNames() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let id = try await store.write { tx in try tx.createAccount(Self.new(), actor: nil) }
        await #expect(throws: ThreadStoreError.accountExists) {
            try await store.write { tx in try tx.createAccount(Self.new("ANNA"), actor: nil) }
        }
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await store.write { tx in try tx.createAccount(Self.new("bad name"), actor: nil) }
        }
        var clear = Self.new("bert")
        clear.passwordHash = "correct horse battery staple"
        let refused = clear
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await store.write { tx in try tx.createAccount(refused, actor: nil) }
        }
        let (all, found, byID) = try await store.read { tx in
            (try tx.accounts(), try tx.account(named: "Anna"), try tx.account(id))
        }
        #expect(all.map(\.id) == [id])
        #expect(found?.id == id)
        #expect(byID?.fields == [Sample.field])
        #expect(byID?.role == .counsellor && byID?.language == .german && byID?.isDisabled == false)
        #expect(byID?.hasSecondFactor == false)
        #expect(found.map { "\($0)" }?.contains("anna") == false)
        let audit = try await store.read { tx in try tx.auditEntries() }
        #expect(audit.map(\.event) == [.accountCreated])
        #expect(audit[0].itemID == id.unredactedDescription && audit[0].actor == nil)
    }

    @Test func disableEndsSessionsAndTokens() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let now = fixture.clock.now
        let lead = try await store.write { tx in try tx.createAccount(Self.new("lead", role: .teamLead), actor: nil) }
        let (id, session, token) = try await store.write { tx in
            let id = try tx.createAccount(Self.new(), actor: lead)
            return (id, try tx.createWebSession(for: id, secondFactorDone: true, now: now, lifetime: 3600),
                    try tx.createAPIToken(for: id, label: "platform", actor: lead))
        }
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: token.token)?.id } == id)
        #expect(try await store.read { tx in try tx.webSession(token: session.token, now: now, idleTimeout: 60) } != nil)
        try await store.write { tx in try tx.disableAccount(id, actor: lead) }
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: token.token) } == nil)
        #expect(try await store.write { tx in
            try tx.authenticateWebSession(token: session.token, now: now, idleTimeout: 60)
        } == nil)
        #expect(try await store.read { tx in try tx.account(id)?.isDisabled } == true)
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await store.write { tx in try tx.disableAccount(AccountID.random(), actor: nil) }
        }
        // Enabling again: the old session stays ended, the suspended (not revoked) API token works again.
        try await store.write { tx in try tx.enableAccount(id, actor: lead) }
        #expect(try await store.read { tx in try tx.account(id)?.isDisabled } == false)
        #expect(try await store.read { tx in try tx.webSession(token: session.token, now: now, idleTimeout: 60) } == nil)
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: token.token)?.id } == id)
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await store.write { tx in try tx.enableAccount(AccountID.random(), actor: nil) }
        }
        let audit = try await store.read { tx in try tx.auditEntries() }
        #expect(audit.map(\.event)
            == [.accountCreated, .accountCreated, .apiTokenCreated, .accountDisabled, .accountEnabled])
        #expect(audit.dropFirst().allSatisfy { $0.actor == lead })
    }

    @Test func deleteRemovesTheAccountEverywhereAndLeavesThreads() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let now = fixture.clock.now
        let name = "verena.loeschbar"
        let display = "Verena Löschbar-Beispiel"
        let thread = try #require(try await store.write { tx in
            try tx.importMessage(Sample.message("a", at: now), into: .client(Sample.identity()))
        }.storedThread)
        let (id, session, token) = try await store.write { tx in
            let id = try tx.createAccount(
                NewAccount(username: name, displayName: display, role: .counsellor, language: .german,
                           fields: [Sample.field], passwordHash: Self.hash), actor: nil)
            try tx.assign(thread, to: id, actor: id)
            return (id, try tx.createWebSession(for: id, secondFactorDone: true, now: now, lifetime: 3600),
                    try tx.createAPIToken(for: id, label: "platform", actor: nil))
        }
        try await store.checkpoint()
        #expect(fixture.filesContain(Data(display.utf8)))
        try await store.deleteAccount(id, via: .commandLine)
        #expect(try await store.read { tx in try tx.account(id) } == nil)
        #expect(try await store.read { tx in try tx.account(named: name) } == nil)
        #expect(try await store.read { tx in try tx.webSession(token: session.token, now: now, idleTimeout: 60) } == nil)
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: token.token) } == nil)
        #expect(try await store.read { tx in try tx.apiTokens() }.isEmpty)
        // The thread stays, unassigned; the name is gone from the database file and the WAL.
        #expect(try await store.read { try $0.inboxThread(thread) }?.assignedTo == nil)
        #expect(fixture.filesContain(Data(display.utf8)) == false)
        #expect(fixture.filesContain(Data(name.utf8)) == false)
        // The audit log keeps the opaque ID: as the actor of the earlier assignment and in the deletion entry.
        let audit = try await store.read { tx in try tx.auditEntries() }
        #expect(audit.contains { $0.event == .threadAssigned && $0.actor == id })
        let unassigned = try #require(audit.dropLast().last)
        #expect(unassigned.event == .threadAssigned && unassigned.thread == thread && unassigned.itemID == nil)
        #expect(unassigned.channel == .commandLine)
        let deletion = try #require(audit.last)
        #expect(deletion.event == .accountDeleted && deletion.itemID == id.unredactedDescription)
        #expect(deletion.channel == .commandLine && deletion.actor == nil)
        await #expect(throws: ThreadStoreError.accountNotFound) { try await store.deleteAccount(id) }
        // The name can be given to a new account.
        _ = try await store.write { tx in
            try tx.createAccount(NewAccount(username: name, displayName: "Neu", role: .counsellor, language: .german,
                                            fields: [Sample.field], passwordHash: Self.hash), actor: nil)
        }
    }

    @Test func resetReplacesPasswordClearsSecondFactorAndEndsSessions() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let now = fixture.clock.now
        let (id, session, token) = try await store.write { tx in
            let id = try tx.createAccount(Self.new(), actor: nil)
            try tx.enrolSecondFactor(secret: "TOTPSECRETTOTPSECRET", acceptedStep: 10, for: id)
            return (id, try tx.createWebSession(for: id, secondFactorDone: true, now: now, lifetime: 3600),
                    try tx.createAPIToken(for: id, label: "platform", actor: nil))
        }
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: token.token)?.id } == id)
        let before = try await store.read { tx in try tx.loginCredentials(username: "anna") }
        #expect(before?.totpSecret == "TOTPSECRETTOTPSECRET" && before?.lastTOTPStep == 10)
        #expect(before?.account.hasSecondFactor == true)
        try await store.write { tx in try tx.resetPassword(of: id, passwordHash: Self.otherHash, actor: nil) }
        let after = try await store.read { tx in try tx.loginCredentials(username: "anna") }
        #expect(after?.passwordHash == Self.otherHash)
        #expect(after?.totpSecret == nil && after?.lastTOTPStep == nil && after?.account.hasSecondFactor == false)
        #expect(try await store.read { tx in try tx.webSession(token: session.token, now: now, idleTimeout: 60) } == nil)
        // A reset answers a compromised account: its API tokens are revoked too.
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: token.token) } == nil)
        #expect(try await store.read { tx in try tx.loginCredentials(username: "nobody") } == nil)
    }

    @Test func totpStepIsAcceptedOnlyOnceAndNeverBackwards() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let id = try await store.write { tx in try tx.createAccount(Self.new(), actor: nil) }
        let results = try await store.write { tx in
            [try tx.acceptTOTPStep(100, for: id), try tx.acceptTOTPStep(100, for: id), try tx.acceptTOTPStep(99, for: id),
             try tx.acceptTOTPStep(101, for: id)]
        }
        #expect(results == [true, false, false, true])
    }

    @Test func sealedTOTPSecretMovedToAnotherAccountFailsToOpen() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let (anna, bert) = try await store.write { tx in
            let anna = try tx.createAccount(Self.new(), actor: nil)
            try tx.enrolSecondFactor(secret: "SECRETOFANNA", acceptedStep: 1, for: anna)
            return (anna, try tx.createAccount(Self.new("bert"), actor: nil))
        }
        try await store.pool.write { db in
            try db.execute(sql: """
                UPDATE account SET totp_secret_sealed = (SELECT totp_secret_sealed FROM account WHERE id = ?)
                WHERE id = ?
                """, arguments: [anna.unredactedDescription, bert.unredactedDescription])
        }
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await store.read { tx in try tx.loginCredentials(username: "bert") }
        }
    }

    @Test func sessionsEnforceIdleAndAbsoluteTimeoutAndAreTouched() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let start = fixture.clock.now
        let id = try await store.write { tx in try tx.createAccount(Self.new(), actor: nil) }
        let session = try await store.write { tx in
            try tx.createWebSession(for: id, secondFactorDone: true, now: start, lifetime: 3600)
        }
        #expect(session.token.count == 64 && session.csrfToken.count == 64 && session.token != session.csrfToken)
        // Touched at +25 min, so still alive at +50 min with a 30 min idle timeout.
        let touched = try await store.write { tx in
            try tx.authenticateWebSession(token: session.token, now: start + 1500, idleTimeout: 1800)
        }
        #expect(touched?.account.id == id && touched?.csrfToken == session.csrfToken)
        #expect(try await store.write { tx in
            try tx.authenticateWebSession(token: session.token, now: start + 3000, idleTimeout: 1800)
        } != nil)
        // The absolute end wins even when active.
        #expect(try await store.write { tx in
            try tx.authenticateWebSession(token: session.token, now: start + 3600, idleTimeout: 1800)
        } == nil)
        // Deleted on expiry: a later check with a huge idle timeout finds nothing.
        #expect(try await store.read { tx in
            try tx.webSession(token: session.token, now: start, idleTimeout: 1e9)
        } == nil)
        let idle = try await store.write { tx in
            try tx.createWebSession(for: id, secondFactorDone: false, now: start, lifetime: 3600)
        }
        #expect(try await store.write { tx in
            try tx.authenticateWebSession(token: idle.token, now: start + 1800, idleTimeout: 1800)
        } == nil)
        let audit = try await store.read { tx in try tx.auditEntries() }
        #expect(audit.filter { $0.event == .loggedOut }.map(\.count) == [LogoutReason.timeout, LogoutReason.timeout])
        #expect(try await store.read { tx in try tx.webSession(token: "zz", now: start, idleTimeout: 1) } == nil)
    }

    @Test func deleteAndPurgeSessions() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let start = fixture.clock.now
        let id = try await store.write { tx in try tx.createAccount(Self.new(), actor: nil) }
        let (one, two, three) = try await store.write { tx in
            (try tx.createWebSession(for: id, secondFactorDone: true, now: start, lifetime: 100),
             try tx.createWebSession(for: id, secondFactorDone: true, now: start, lifetime: 10_000),
             try tx.createWebSession(for: id, secondFactorDone: true, now: start, lifetime: 10_000))
        }
        #expect(try await store.write { tx in try tx.deleteWebSession(token: three.token) } == id)
        #expect(try await store.write { tx in try tx.deleteWebSession(token: three.token) } == nil)
        #expect(try await store.write { tx in try tx.purgeExpiredWebSessions(now: start + 200, idleTimeout: 1000) } == 1)
        #expect(try await store.read { tx in try tx.webSession(token: one.token, now: start, idleTimeout: 1e9) } == nil)
        #expect(try await store.read { tx in try tx.webSession(token: two.token, now: start, idleTimeout: 1e9) } != nil)
        #expect(try await store.write { tx in try tx.deleteWebSessions(of: id) } == 1)
    }

    @Test func apiTokensAreListedWithoutSecretsAndRevoked() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let id = try await store.write { tx in try tx.createAccount(Self.new(), actor: nil) }
        let token = try await store.write { tx in try tx.createAPIToken(for: id, label: "platform", actor: nil) }
        #expect(token.token.hasPrefix("mbt_") && token.token.count == 68)
        #expect("\(token)".contains(token.token) == false)
        let listed = try await store.read { tx in try tx.apiTokens() }
        #expect(listed.map(\.id) == [token.id] && listed[0].username == "anna" && listed[0].revokedAt == nil)
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: "mbt_" + String(token.token.dropFirst(4).reversed())) } == nil)
        try await store.write { tx in try tx.revokeAPIToken(token.id, actor: nil) }
        #expect(try await store.read { tx in try tx.apiTokenAccount(token: token.token) } == nil)
        #expect(try await store.read { tx in try tx.apiTokens() }.first?.revokedAt != nil)
        await #expect(throws: ThreadStoreError.apiTokenNotFound) {
            try await store.write { tx in try tx.revokeAPIToken(APITokenID.random(), actor: nil) }
        }
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await store.write { tx in try tx.createAPIToken(for: id, label: "", actor: nil) }
        }
    }

    @Test func fieldsCanBeReplaced() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let id = try await store.write { tx in try tx.createAccount(Self.new(), actor: nil) }
        try await store.write { tx in try tx.setFields([Sample.field, Sample.otherField], of: id, actor: nil) }
        #expect(try await store.read { tx in try tx.account(id)?.fields } == [Sample.field, Sample.otherField])
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await store.write { tx in try tx.setFields([], of: AccountID.random(), actor: nil) }
        }
    }

    /// No session token, API token or TOTP secret is in the database, WAL or shm file in clear (nor hex-decoded).
    @Test func noSecretIsStoredInClear() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        let (session, token) = try await store.write { tx in
            let id = try tx.createAccount(Self.new(), actor: nil)
            try tx.enrolSecondFactor(secret: secret, acceptedStep: 1, for: id)
            return (try tx.createWebSession(for: id, secondFactorDone: true, now: Date(), lifetime: 3600),
                    try tx.createAPIToken(for: id, label: "platform", actor: nil))
        }
        func hexBytes(_ hex: some StringProtocol) -> Data {
            var data = Data()
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                data.append(UInt8(hex[index..<next], radix: 16)!)
                index = next
            }
            return data
        }
        let needles = [
            Data(secret.utf8), Data(session.token.utf8), Data(token.token.utf8),
            Data(token.token.dropFirst(4).utf8), hexBytes(session.token), hexBytes(token.token.dropFirst(4)),
        ]
        for checkpointed in [false, true] {
            if checkpointed { try await store.checkpoint() }
            for needle in needles { #expect(fixture.filesContain(needle) == false) }
        }
        // The scan can find things: the hashes are there.
        #expect(fixture.filesContain(Data(Self.hash.utf8)))
    }
}
