import Foundation
import GRDB
import Testing

@testable import ThreadStore

/// Issue 29: a store of an installation before organisations (schema `v18-webhook-events`, with a thread, an
/// account and audit rows) upgrades in place: `v19-account-organisation` adds the column, every account belongs to
/// no organisation (the implicit one), `v21-organisation-administrator` makes nobody an organisation's administrator,
/// and the thread, the account and the audit log are as they were.
@Suite struct OrganisationUpgradeTests {
    @Test func aStoreBeforeOrganisationsUpgradesWithItsDataIntact() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        var store = try fixture.open()
        let hash = "$2b$04$" + String(repeating: "a", count: 53)
        let (thread, account) = try await store.write { tx in
            let account = try tx.createAccount(NewAccount(username: "anna", displayName: "Anna", role: .counsellor,
                                                          fields: [Sample.field], passwordHash: hash), actor: nil)
            guard case .stored(let thread, _, _) = try tx.importMessage(
                Sample.message("m1", body: "Inhalt", at: fixture.clock.now), into: .client(Sample.identity()))
            else { throw ThreadStoreError.invalidValue }
            try tx.assign(thread, to: account, actor: nil)
            return (thread, account)
        }
        let auditBefore = try await store.read { tx in try tx.auditEntries() }
        try store.close()

        // Back to the shape of v18: no column, no index, no record of v19.
        let raw = try DatabaseQueue(path: fixture.databaseURL.path)
        try await raw.write { db in
            try db.execute(sql: """
                DROP TABLE organisation_key;
                DROP INDEX account_by_organisation;
                ALTER TABLE account DROP COLUMN organisation;
                ALTER TABLE account DROP COLUMN administers;
                DELETE FROM grdb_migrations WHERE identifier IN ('v19-account-organisation', 'v20-organisation-key',
                                                                 'v21-organisation-administrator');
                """)
        }
        #expect(try await raw.read { db in try db.columns(in: "account").map(\.name) }.contains("organisation")
                == false)
        try raw.close()

        store = try fixture.open()
        defer { try? store.close() }
        let upgraded = try #require(try await store.read { tx in try tx.account(account) })
        #expect(upgraded.organisation == nil && upgraded.username == "anna" && upgraded.fields == [Sample.field])
        #expect(!upgraded.administers)
        let opened = try await store.read { tx in try tx.openInboxThread(thread) }
        #expect(opened.messages.map { String(decoding: $0.body, as: UTF8.self) } == ["Inhalt"])
        #expect(opened.thread.assignedTo == account)
        #expect(try await store.read { tx in try tx.auditEntries() } == auditBefore)
        // The new column takes an organisation and refuses what is not an ID.
        try await store.write { tx in try tx.setOrganisation(try OrganisationID("org-a"), of: account, actor: nil) }
        #expect(try await store.read { tx in try tx.account(account) }?.organisation?.rawValue == "org-a")
        await #expect(throws: (any Error).self) {
            try await store.write { tx in
                try tx.db.execute(sql: "UPDATE account SET organisation = 'Org A' WHERE id = ?",
                                  arguments: [account.unredactedDescription])
            }
        }
    }
}
