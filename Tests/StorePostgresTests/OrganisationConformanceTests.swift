import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// Organisations in the store (issue 29) on SQLite and on PostgreSQL (also under the gateway's role): an account's
/// organisation is stored with it and read back by every look-up (login, session, token, list); moving it ends its
/// sessions and unassigns its threads (each audited) and is audited itself; the thread counts per field that the
/// installation's administrator sees decrypt nothing and agree on every engine.
@Suite struct OrganisationConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start

    @Test(arguments: engines)
    func anAccountsOrganisationIsStoredReadAndMovedWithItsConsequences(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let state = engine.webState
        let admin: any AccountAdminStore = (engine.inbound.keepAlive as? SQLiteImport)
            .map { ThreadStoreAccountAdmin($0.threads.store) } ?? (engine.webState as! PostgresWebState)
        let (a, b) = (try OrganisationID("org-a"), try OrganisationID("org-b"))
        var new = WebStateEngines.newAccount("anna", fields: [ImportEngines.field])
        new.organisation = a
        let anna = try await state.createAccount(new, actor: nil, via: .commandLine)
        let bert = try await state.createAccount(WebStateEngines.newAccount("bert"), actor: nil, via: .commandLine)
        #expect(try await state.account(named: "anna")?.organisation == a, "\(name)")
        #expect(try await state.account(named: "bert")?.organisation == nil, "\(name)")
        #expect(try await state.loginCredentials(username: "anna")?.account.organisation == a, "\(name)")
        let token = try await admin.createAPIToken(for: anna, label: "platform", actor: nil, via: .commandLine)
        #expect(try await state.apiTokenCredential(token: token.token)?.account.organisation == a, "\(name)")
        let session = try await state.createWebSession(for: anna, secondFactorDone: true, now: t0, lifetime: 3600)
        #expect(try await state.webSession(token: session.token, now: t0, idleTimeout: 600)?.account.organisation
                == a, "\(name)")
        #expect(try await engine.inbox.accounts().map(\.organisation) == [a, nil], "\(name)")

        // Moved: its session ends, its thread becomes unassigned, its API token is revoked.
        let thread = try #require(try await engine.importer.importMessage(
            ImportEngines.message("m1"), into: .client(ImportEngines.identity(1))).storedThread)
        _ = try await engine.inbox.assign(thread, to: anna, by: InboxActor(
            account: anna, channel: .browser, scope: .everyField)) { _, _ in true }
        // Threads outside the fields given are unassigned; the thread of a field given stays.
        #expect(try await admin.unassignThreads(of: anna, outside: [ImportEngines.field], actor: nil, via: nil) == 0,
                "\(name)")
        #expect(try await engine.inbox.inboxThread(thread, scope: .everyField)?.assignedTo == anna, "\(name)")
        #expect(try await admin.unassignThreads(of: anna, outside: [try CounsellingField("schulden")], actor: nil,
                                                via: nil) == 1, "\(name)")
        _ = try await engine.inbox.assign(thread, to: anna, by: InboxActor(
            account: anna, channel: .browser, scope: .everyField)) { _, _ in true }
        try await admin.setOrganisation(b, of: anna, actor: nil, via: .commandLine)
        #expect(try await state.account(named: "anna")?.organisation == b, "\(name)")
        #expect(try await state.webSession(token: session.token, now: t0, idleTimeout: 600) == nil, "\(name)")
        #expect(try await engine.inbox.inboxThread(thread, scope: .everyField)?.assignedTo == nil, "\(name)")
        #expect(try await state.apiTokenCredential(token: token.token) == nil, "\(name): the old token is revoked")
        try await admin.setOrganisation(nil, of: anna, actor: nil, via: .commandLine)
        #expect(try await state.account(named: "anna")?.organisation == nil, "\(name)")
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await admin.setOrganisation(a, of: .makeRandom(), actor: nil, via: .commandLine)
        }
        _ = bert

        let (moved, assigned) = (AuditEvent.accountOrganisationChanged.rawValue, AuditEvent.threadAssigned.rawValue)
        let audit = try await engine.accessAudit().filter { $0.hasPrefix("\(moved)/") || $0.hasPrefix("\(assigned)/") }
        #expect(audit == ["\(assigned)/-/I/A/1", "\(assigned)/-/-/-/-", "\(assigned)/-/I/A/1", "\(assigned)/-/-/-/3",
                          "\(moved)/-/I/-/3", "\(moved)/-/I/-/3"], "\(name)")
    }

    @Test(arguments: engines)
    func threadCountsPerFieldAgreeOnEveryEngine(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        #expect(try await engine.gauges.threadCountsByField() == [:], "\(name)")
        let other = try CounsellingField("schulden")
        for number in 1...3 {
            _ = try await engine.importer.importMessage(
                ImportEngines.message("m\(number)"), into: .client(ImportEngines.identity(number)))
        }
        let foreign = ClientIdentity(field: other, key: try ClientKeyFingerprint(String(format: "%040X", 99)),
                                     address: try ClientAddress("x@example.org"))
        _ = try await engine.importer.importMessage(ImportEngines.message("m9"), into: .client(foreign))
        // A second message in a thread counts no second thread.
        _ = try await engine.importer.importMessage(
            ImportEngines.message("m10"), into: .client(ImportEngines.identity(1)))
        #expect(try await engine.gauges.threadCountsByField() == [ImportEngines.field: 3, other: 1], "\(name)")
        // All four wait since t0 (no reply): counted per field before a later cutoff, none before t0.
        let waiting = try await engine.gauges.waitingThreadCountsByField(before: [t0.addingTimeInterval(60), t0])
        #expect(waiting == [[ImportEngines.field: 3, other: 1], [:]], "\(name)")
    }

    /// `mailbridge audit --organisation`: the entries about the organisation's threads (by field) and by or about
    /// its accounts, and none of the other's, on every engine.
    @Test(arguments: engines)
    func theAuditFilterOfAnOrganisationSelectsItsThreadsAndAccounts(engine name: String) async throws {
        let engine = try await SeamEngineUnderTest.engine(name)
        let (anna, bert) = (AccountID.makeRandom(), AccountID.makeRandom())
        for (id, user, organisation) in [(anna, "anna", "org-a"), (bert, "bert", "org-b")] {
            _ = try engine.sql("""
                INSERT INTO account (id, username, display_name, role, language, password_hash, created_at,
                                     password_changed_at, organisation)
                VALUES ('\(id.unredactedDescription)', '\(user)', '\(user)', 0, 'de', '$2b$04$\(String(repeating: "a", count: 53))',
                        1000, 1000, '\(organisation)')
                """)
        }
        let other = try CounsellingField("schulden")
        let mine = try #require(try await engine.importer.importMessage(
            ImportEngines.message("a1"), into: .client(ImportEngines.identity(1))).storedThread)
        let foreign = ClientIdentity(field: other, key: try ClientKeyFingerprint(String(format: "%040X", 99)),
                                     address: try ClientAddress("x@example.org"))
        let theirs = try #require(try await engine.importer.importMessage(
            ImportEngines.message("b1"), into: .client(foreign)).storedThread)
        _ = try await engine.inbox.openThread(mine, page: MessagePageRequest(), by: InboxActor(
            account: anna, channel: .browser, scope: InboxScope(fields: [ImportEngines.field])), event: .threadViewed)
        _ = try await engine.inbox.setState(.closed, of: theirs, by: InboxActor(
            account: bert, channel: .browser, scope: InboxScope(fields: [other])))
        // A thread-less row of bert's from before his move into org-b: his earlier organisation's, shown to none.
        _ = try engine.sql("INSERT INTO audit (at, event, actor_id) VALUES (4000, 37, '\(bert.unredactedDescription)')")
        _ = try engine.sql("INSERT INTO audit (at, event, item_id) VALUES (5000, 66, '\(bert.unredactedDescription)')")

        var filter = AuditFilter()
        filter.organisation = (try OrganisationID("org-a"), [ImportEngines.field])
        let a = try await engine.audit.latestAuditEntries(filter, limit: 1000)
        filter.organisation = (try OrganisationID("org-b"), [other])
        let b = try await engine.audit.latestAuditEntries(filter, limit: 1000)
        #expect(!a.isEmpty && a.allSatisfy { $0.thread == mine || ($0.thread == nil && $0.actor == anna) },
                "\(name): \(a)")
        #expect(a.contains { $0.event == .threadViewed && $0.actor == anna }, "\(name)")
        #expect(!b.isEmpty && b.allSatisfy { $0.thread == theirs || ($0.thread == nil && ($0.actor == bert
                                                || $0.itemID == bert.unredactedDescription)) }, "\(name): \(b)")
        #expect(b.contains { $0.event == .accountOrganisationChanged }, "\(name)")
        #expect(!b.contains { $0.event == .passwordChanged } && !a.contains { $0.event == .passwordChanged }, "\(name)")
        #expect(b.contains { $0.event == .threadStateChanged && $0.actor == bert }, "\(name)")
        #expect(a.count + b.count + 1 == (try await engine.audit.latestAuditEntries(AuditFilter(), limit: 1000)).count,
                "\(name): every entry here but bert's from before his move concerns one of the two")
        // Combined with another filter, both hold.
        filter.actor = anna
        #expect(try await engine.audit.latestAuditEntries(filter, limit: 1000).isEmpty, "\(name)")
        // bert acts on A's thread (moved there later, say): the row is A's, never B's.
        filter.actor = nil
        _ = try await engine.inbox.setState(.open, of: mine, by: InboxActor(
            account: bert, channel: .browser, scope: .everyField))
        let bAfter = try await engine.audit.latestAuditEntries(filter, limit: 1000)
        #expect(bAfter.count == b.count && !bAfter.contains { $0.thread == mine }, "\(name)")
    }
}
