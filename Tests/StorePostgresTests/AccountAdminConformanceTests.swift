import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The account administration (``AccountAdminStore``: `mailbridge users` and `tokens`) on SQLite and on PostgreSQL
/// (also under the gateway's role), with the same effects and audit rows (issue 21).
@Suite struct AccountAdminConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start

    func admin(_ engine: InboxEngineUnderTest) -> any AccountAdminStore {
        if let sqlite = engine.inbound.keepAlive as? SQLiteImport { return ThreadStoreAccountAdmin(sqlite.threads.store) }
        return engine.webState as! PostgresWebState
    }

    @Test(arguments: engines)
    func disableEnableResetFieldsTokensAndDeletion(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let (admin, state) = (admin(engine), engine.webState)
        let anna = try await state.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: .commandLine)
        let missing = AccountID.makeRandom()
        try await state.enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 1, for: anna)
        let session = try await state.createWebSession(for: anna, secondFactorDone: true, now: t0, lifetime: 3600)
        let token = try await admin.createAPIToken(for: anna, label: "platform", actor: nil, via: .commandLine)
        #expect(token.token.hasPrefix("mbt_") && token.token.utf8.count == 68, "\(name)")
        #expect(try await state.apiTokenCredential(token: token.token)?.tokenID == token.id, "\(name)")
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await admin.createAPIToken(for: anna, label: "bad\u{7}", actor: nil, via: .commandLine)
        }
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.createAPIToken(for: missing, label: "x", actor: nil, via: .commandLine)
        }

        // Disabled: the session ends, the token stops working; enabled: the token works again, the session not.
        try await admin.disableAccount(anna, actor: nil, via: .commandLine)
        #expect(try await state.webSession(token: session.token, now: t0, idleTimeout: 600) == nil, "\(name)")
        #expect(try await state.apiTokenCredential(token: token.token) == nil, "\(name)")
        try await admin.enableAccount(anna, actor: nil, via: .commandLine)
        #expect(try await state.apiTokenCredential(token: token.token) != nil, "\(name)")
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.disableAccount(missing, actor: nil, via: .commandLine)
        }

        try await admin.setFields([ImportEngines.field, try CounsellingField("schulden")], of: anna, actor: nil,
                                  via: .commandLine)
        #expect(try await state.account(named: "ANNA")?.fields.count == 2, "\(name)")
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.setFields([], of: missing, actor: nil, via: .commandLine)
        }

        // A reset: new hash, no second factor, must change the password, tokens revoked.
        let hash = "$2b$10$" + String(repeating: "b", count: 53)
        await #expect(throws: ThreadStoreError.invalidValue) {
            try await admin.resetPassword(of: anna, passwordHash: "clear text", in: nil, actor: nil, via: .commandLine)
        }
        try await admin.resetPassword(of: anna, passwordHash: hash, in: nil, actor: nil, via: .commandLine)
        let reset = try #require(try await state.loginCredentials(username: "anna"))
        #expect(reset.passwordHash == hash && !reset.account.hasSecondFactor, "\(name)")
        #expect(reset.account.mustChangePassword, "\(name)")
        #expect(try await state.apiTokenCredential(token: token.token) == nil, "\(name)")
        let second = try await admin.createAPIToken(for: anna, label: "second", actor: nil, via: .commandLine)
        try await admin.revokeAPIToken(second.id, actor: nil, via: .commandLine)
        try await admin.revokeAPIToken(second.id, actor: nil, via: .commandLine)  // twice: the first time stays
        await #expect(throws: ThreadStoreError.apiTokenNotFound) {
            try await admin.revokeAPIToken(try APITokenID(String(repeating: "0", count: 32)), actor: nil,
                                           via: .commandLine)
        }
        let tokens = try await admin.apiTokens()
        #expect(Set(tokens.map(\.label)) == ["platform", "second"] && tokens.allSatisfy { $0.revokedAt == t0 })
        #expect(tokens.allSatisfy { $0.username == "anna" && $0.accountID == anna }, "\(name)")

        // Deleted: its thread becomes unassigned (audited), the account and its tokens are gone.
        let thread = try #require(try await engine.importer.importMessage(
            ImportEngines.message("m1"), into: .client(ImportEngines.identity(1))).storedThread)
        _ = try await engine.inbox.assign(thread, to: anna, by: InboxActor(
            account: anna, channel: .browser, scope: .everyField)) { _, _ in true }
        try await admin.deleteAccount(anna, actor: nil, via: .commandLine)
        #expect(try await engine.inbox.inboxThread(thread, scope: .everyField)?.assignedTo == nil, "\(name)")
        #expect(try await state.account(named: "anna") == nil, "\(name)")
        #expect(try await admin.apiTokens().isEmpty, "\(name)")
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.deleteAccount(anna, actor: nil, via: .commandLine)
        }

        let events: [AuditEvent] = [.accountDisabled, .accountEnabled, .accountFieldsChanged, .accountReset,
                                    .apiTokenCreated, .apiTokenRevoked, .accountDeleted, .threadAssigned]
        let codes = Set(events.map { "\($0.rawValue)/" })
        let audit = try await engine.accessAudit().filter { line in codes.contains { line.hasPrefix($0) } }
        let (created, disabled, enabled, fields, resetEvent, revoked, deleted, assigned) = (
            AuditEvent.apiTokenCreated.rawValue, AuditEvent.accountDisabled.rawValue, AuditEvent.accountEnabled.rawValue,
            AuditEvent.accountFieldsChanged.rawValue, AuditEvent.accountReset.rawValue,
            AuditEvent.apiTokenRevoked.rawValue, AuditEvent.accountDeleted.rawValue, AuditEvent.threadAssigned.rawValue)
        #expect(audit == [
            "\(created)/-/I/-/3", "\(disabled)/-/I/-/3", "\(enabled)/-/I/-/3", "\(fields)/2/I/-/3",
            "\(resetEvent)/-/I/-/3", "\(created)/-/I/-/3", "\(revoked)/-/I/-/3", "\(revoked)/-/I/-/3",
            "\(assigned)/-/I/A/1", "\(assigned)/-/-/-/3", "\(deleted)/-/I/-/3",
        ], "\(name)")
    }

    /// Issue 29, the organisation administrator: the right is stored with the account (and read back by every way
    /// an account is read), and a role change sets role, right and fields in one audited step; a counsellor's
    /// threads outside its new fields become unassigned, a team lead keeps its threads.
    @Test(arguments: engines)
    func anAdministratorsRightAndARoleChange(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let (admin, state) = (admin(engine), engine.webState)
        var new = WebStateEngines.newAccount("verwaltung")
        new.administers = true
        let verwaltung = try await state.createAccount(new, actor: nil, via: .commandLine)
        let anna = try await state.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: .commandLine)
        let read = try #require(try await state.account(named: "verwaltung"))
        #expect(read.administers && !read.readsThreads && read.role == .counsellor, "\(name)")
        #expect(try await state.loginCredentials(username: "verwaltung")?.account.administers == true, "\(name)")
        #expect(try await engine.inbox.accounts().map(\.administers) == [false, true], "\(name)")
        #expect(try await state.account(named: "anna")?.administers == false, "\(name)")

        let thread = try #require(try await engine.importer.importMessage(
            ImportEngines.message("m1"), into: .client(ImportEngines.identity(1))).storedThread)
        _ = try await engine.inbox.assign(thread, to: anna, by: InboxActor(
            account: anna, channel: .browser, scope: .everyField)) { _, _ in true }
        // Team lead and administrator: the thread stays hers.
        // Only while she belongs to the organisation the caller names (none here).
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.setRole(.teamLead, administers: true, fields: [], of: anna, in: try OrganisationID("org-x"),
                                    actor: verwaltung, via: .browser)
        }
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.resetPassword(of: anna, passwordHash: WebStateEngines.passwordHash,
                                          in: try OrganisationID("org-x"), actor: verwaltung, via: .browser)
        }
        #expect(try await state.account(named: "anna")?.role == .counsellor, "\(name)")
        #expect(try await state.account(named: "anna")?.mustChangePassword == false, "\(name)")
        try await admin.setRole(.teamLead, administers: true, fields: [], of: anna, in: nil, actor: verwaltung,
                                via: .browser)
        var changed = try #require(try await state.account(named: "anna"))
        #expect(changed.role == .teamLead && changed.administers && changed.fields.isEmpty, "\(name)")
        #expect(try await engine.inbox.inboxThread(thread, scope: .everyField)?.assignedTo == anna, "\(name)")
        // Her digest counts: one of the thread's field, one of the field she keeps.
        let other = try CounsellingField("schulden")
        for field in [ImportEngines.field, other] { try await countNotice(engine, for: anna, field: field) }
        #expect(try await engine.inbound.noticeCounts().count == 2, "\(name)")
        // A counsellor of another field: the thread is no longer hers, nor its digest count.
        try await admin.setRole(.counsellor, administers: false, fields: [other], of: anna, in: nil, actor: verwaltung,
                                via: .browser)
        changed = try #require(try await state.account(named: "anna"))
        #expect(changed.role == .counsellor && !changed.administers && changed.fields == [other], "\(name)")
        #expect(try await engine.inbox.inboxThread(thread, scope: .everyField)?.assignedTo == nil, "\(name)")
        #expect(try await engine.inbound.noticeCounts() == ["1/\(anna.unredactedDescription)/schulden/1/1"], "\(name)")
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.setRole(.teamLead, administers: false, fields: [], of: AccountID.makeRandom(), in: nil,
                                    actor: verwaltung, via: .browser)
        }

        let (role, fields, assigned) = (AuditEvent.accountRoleChanged.rawValue,
                                        AuditEvent.accountFieldsChanged.rawValue, AuditEvent.threadAssigned.rawValue)
        let codes = [role, fields].map { "\($0)/" }
        let audit = try await engine.accessAudit().filter { line in codes.contains { line.hasPrefix($0) } }
        let b = AuditChannel.browser.storedCode
        #expect(audit == ["\(role)/3/I/A/\(b)", "\(fields)/0/I/A/\(b)", "\(role)/0/I/A/\(b)", "\(fields)/1/I/A/\(b)"],
                "\(name): \(audit)")
        // Assigned to her, then unassigned by the role change (the administrator acting).
        let unassigned = try await engine.accessAudit().filter { $0.hasPrefix("\(assigned)/") }
        #expect(unassigned == ["\(assigned)/-/I/A/\(b)", "\(assigned)/-/-/A/\(b)"], "\(name): \(unassigned)")
    }

    /// One hourly digest count of `field` for `account`, written the way each engine's import writes it.
    func countNotice(_ engine: InboxEngineUnderTest, for account: AccountID, field: CounsellingField) async throws {
        if let sqlite = engine.inbound.keepAlive as? SQLiteImport {
            try await sqlite.threads.store.write { tx in
                try tx.countNotice(for: .account(account), field: field, mode: .hourly, now: ImportEngines.start)
            }
            return
        }
        let window = try #require(NoticeMode.hourly.window(containing: ImportEngines.start))
        let (start, end) = (StoreTime.milliseconds(window.lowerBound), StoreTime.milliseconds(window.upperBound))
        _ = try (engine.inbound.keepAlive as! PostgresImportNodes).psql("""
            INSERT INTO notice_pending (recipient_kind, recipient, field, period, window_start, window_end, count)
            VALUES (1, '\(account.unredactedDescription)', '\(field.rawValue)', \(NoticeMode.hourly.rawValue),
                    \(start), \(end), 1)
            """)
    }
}
