import Foundation
import GRDB
import Testing
@testable import ThreadStore

@Suite struct AccessAuditTests {
    @Test func counsellorActionsAreAuditedWithTheirActor() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let actor = AccountID.random()
        try await store.write { tx in
            try tx.recordAccess(.loginSucceeded, actor: actor)
            try tx.recordAccess(.attachmentDownloaded, actor: actor, itemID: "0123456789abcdef0123456789abcdef",
                                count: 2)
        }
        let entries = try await store.read { tx in try tx.auditEntries() }
        #expect(entries.map(\.event) == [.loginSucceeded, .attachmentDownloaded])
        #expect(entries.allSatisfy { $0.actor == actor })
        #expect(entries[1].count == 2)
        #expect(entries[0].description.contains(actor.unredactedDescription) == false)
    }

    @Test func inboundEventsCannotBeRecordedAsAccess() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        for event in [AuditEvent.inboundRedirected, .messageStored, .outboxDelivered] {
            await #expect(throws: ThreadStoreError(.invalidValue)) {
                try await store.write { tx in try tx.recordAccess(event, actor: nil) }
            }
        }
        #expect(try await store.read { tx in try tx.auditEntries() }.isEmpty)
    }

    @Test func rowsRecordTheChannelOfTheirTransaction() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let actor = AccountID.random()
        let token = try APITokenID("0123456789abcdef0123456789abcdef")
        try await store.write(via: .browser) { tx in try tx.recordAccess(.loginSucceeded, actor: actor) }
        try await store.write(via: .apiToken(token)) { tx in try tx.recordAccess(.threadExported, actor: actor) }
        try await store.write(via: .commandLine) { tx in try tx.recordAccess(.accountCreated, actor: nil) }
        try await store.write { tx in try tx.recordAccess(.loggedOut, actor: actor) }
        let entries = try await store.read { tx in try tx.auditEntries() }
        #expect(entries.map(\.channel) == [.browser, .apiToken(token), .commandLine, nil])
        // The token ID is an opaque ID, redacted in descriptions like every ID.
        #expect("\(AuditChannel.apiToken(token))".contains(token.unredactedDescription) == false)
    }

    @Test func anOlderDatabaseGainsTheColumnsAndStaysAppendOnly() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        // A database at schema v6 with one audit row, as installations before v7 have it.
        let queue = try DatabaseQueue(path: fixture.databaseURL.path)
        try Schema.migrator.migrate(queue, upTo: "v6-inbox-views-and-key-changes")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO audit (at, event) VALUES (1000, ?)",
                           arguments: [AuditEvent.loginSucceeded.rawValue])
            try db.execute(sql: """
                INSERT INTO account (id, username, display_name, role, language, password_hash, created_at,
                                     password_changed_at)
                VALUES (?, 'alt', 'Alt', 0, 'de', ?, 1000, 1000)
                """, arguments: [String(repeating: "b", count: 32), "$2b$04$" + String(repeating: "a", count: 53)])
        }
        try queue.close()
        let store = try fixture.open()
        try await store.write(via: .browser) { tx in try tx.recordAccess(.loggedOut, actor: AccountID.random()) }
        let entries = try await store.read { tx in try tx.auditEntries() }
        #expect(entries.map(\.event) == [.loginSucceeded, .loggedOut])
        #expect(entries.map(\.channel) == [nil, .browser])
        // Before v9 no account could choose its own password: each must replace the one an administrator set.
        #expect(try await store.read { tx in try tx.account(named: "alt") }?.mustChangePassword == true)
        try store.close()
        let raw = try DatabaseQueue(path: fixture.databaseURL.path)
        defer { try? raw.close() }
        #expect(throws: (any Error).self) {
            try raw.write { db in try db.execute(sql: "UPDATE audit SET channel = 2 WHERE channel IS NULL") }
        }
        #expect(throws: (any Error).self) {
            try raw.write { db in try db.execute(sql: "INSERT INTO audit (at, event, channel) VALUES (1, 1, 9)") }
        }
        // An API row names its token; no other row has one.
        #expect(throws: (any Error).self) {
            try raw.write { db in try db.execute(sql: "INSERT INTO audit (at, event, channel) VALUES (1, 1, 2)") }
        }
        #expect(throws: (any Error).self) {
            try raw.write { db in
                try db.execute(sql: "INSERT INTO audit (at, event, channel, token_id) VALUES (1, 1, 1, ?)",
                               arguments: [String(repeating: "a", count: 32)])
            }
        }
    }

    @Test func latestEntriesFilterByThreadAccountAndTime() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let anna = AccountID.random()
        let bert = AccountID.random()
        let first = ThreadID.random()
        let second = ThreadID.random()
        let start = fixture.clock.now
        for (index, (actor, thread)) in [(anna, first), (bert, first), (anna, second), (anna, first)].enumerated() {
            if index > 0 { fixture.clock.advance(days: 1) }
            try await store.write { tx in try tx.recordAccess(.threadViewed, actor: actor, thread: thread) }
        }
        func query(_ filter: AuditFilter, limit: Int = 100) async throws -> [Int64] {
            try await store.read { tx in try tx.latestAuditEntries(filter, limit: limit) }.map(\.sequence)
        }
        #expect(try await query(AuditFilter()) == [1, 2, 3, 4])
        #expect(try await query(AuditFilter(), limit: 2) == [3, 4])
        #expect(try await query(AuditFilter(thread: first)) == [1, 2, 4])
        #expect(try await query(AuditFilter(actor: anna)) == [1, 3, 4])
        #expect(try await query(AuditFilter(thread: first, actor: anna)) == [1, 4])
        #expect(try await query(AuditFilter(since: start + 2 * 86_400)) == [3, 4])
        #expect(try await query(AuditFilter(thread: first, since: start + 86_400), limit: 1) == [4])
        #expect(try await query(AuditFilter(before: 4), limit: 2) == [2, 3])
        #expect(try await query(AuditFilter(actor: anna, before: 4)) == [1, 3])
    }
}
