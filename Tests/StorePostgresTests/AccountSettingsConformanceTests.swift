import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// Notification settings (``InboxStore``) and API token look-ups (``WebStateStore``) on SQLite and on PostgreSQL
/// (also under the gateway's role), with the same results (issue 21). The gauges' counts are
/// ``GaugeConformanceTests``'.
@Suite struct AccountSettingsConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start

    @Test(arguments: engines)
    func notificationSettingsAreSealedPerAccountAndAudited(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let anna = try await engine.webState.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: nil)
        let bert = try await engine.webState.createAccount(
            WebStateEngines.newAccount("bert", fields: [ImportEngines.field]), actor: nil, via: nil)
        #expect(try await engine.inbox.notificationSettings(of: anna) == NotificationSettings(address: nil))
        #expect(try await engine.inbox.notificationSettings(of: .makeRandom()) == nil, "\(name)")

        let address = try ClientAddress("anna.privat@example.net")
        try await engine.inbox.setNotificationSettings(NotificationSettings(address: address, mode: .hourly),
                                                       of: anna, actor: anna, via: .browser)
        // Read on the other node; the other account is untouched.
        #expect(try await engine.inboxes[1].notificationSettings(of: anna)
            == NotificationSettings(address: address, mode: .hourly), "\(name)")
        #expect(try await engine.inbox.notificationSettings(of: bert) == NotificationSettings(address: nil))
        if let nodes = engine.inbound.keepAlive as? PostgresImportNodes {
            let table = try nodes.psql("SELECT encode(notify_address_sealed, 'escape') FROM account")
            #expect(!table.contains("anna.privat"), "\(name): the address is stored sealed")
            // The sealed address moved to another account's row does not open.
            _ = try nodes.psql("""
                UPDATE account SET notify_address_sealed = (SELECT notify_address_sealed FROM account
                    WHERE id = '\(anna.unredactedDescription)') WHERE id = '\(bert.unredactedDescription)'
                """)
            await #expect(throws: ThreadStoreError.self) { try await engine.inbox.notificationSettings(of: bert) }
        }
        try await engine.inbox.setNotificationSettings(NotificationSettings(address: nil, mode: .daily),
                                                       of: anna, actor: anna, via: .browser)
        #expect(try await engine.inbox.notificationSettings(of: anna) == NotificationSettings(address: nil, mode: .daily))
        await #expect(throws: ThreadStoreError.accountNotFound) {
            try await engine.inbox.setNotificationSettings(NotificationSettings(address: address), of: .makeRandom(),
                                                           actor: anna, via: .browser)
        }
        let changed = "\(AuditEvent.notificationSettingsChanged.rawValue)/"
        #expect(try await engine.accessAudit().filter { $0.hasPrefix(changed) }
            == ["\(changed)\(NoticeMode.hourly.rawValue)/I/A/1", "\(changed)-/I/A/1"], "\(name)")
    }

    @Test(arguments: engines)
    func anAPITokenActsForItsEnabledAccountOnly(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let anna = try await engine.webState.createAccount(
            WebStateEngines.newAccount("anna", fields: [ImportEngines.field]), actor: nil, via: nil)
        let token: String
        let disable: @Sendable () async throws -> Void
        if let sqlite = engine.inbound.keepAlive as? SQLiteImport {
            let store = sqlite.threads.store
            token = try await store.write { tx in try tx.createAPIToken(for: anna, label: "platform", actor: nil) }.token
            disable = { try await store.write { tx in try tx.disableAccount(anna, actor: nil) } }
        } else {
            // The token row as `mailbridge tokens add` writes it on SQLite: the hash computed by PostgreSQL itself.
            let nodes = engine.inbound.keepAlive as! PostgresImportNodes
            token = "mbt_" + (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
            _ = try nodes.psql("""
                INSERT INTO api_token (id, token_hash, account_id, label, created_at)
                VALUES ('\(AccountID.makeRandom().unredactedDescription)', sha256(convert_to('\(token)', 'UTF8')),
                        '\(anna.unredactedDescription)', 'platform', 0)
                """)
            disable = { _ = try nodes.psql("UPDATE account SET disabled = TRUE WHERE id = '\(anna.unredactedDescription)'") }
        }
        let credential = try #require(try await engine.webState.apiTokenCredential(token: token), "\(name)")
        #expect(credential.account.id == anna && credential.account.username == "anna", "\(name)")
        #expect(credential.account.fields == [ImportEngines.field], "\(name)")
        var other = Array(token)
        other[10] = other[10] == "a" ? "b" : "a"
        #expect(try await engine.webState.apiTokenCredential(token: String(other)) == nil, "\(name)")
        #expect(try await engine.webState.apiTokenCredential(token: String(token.dropLast())) == nil, "\(name)")
        try await disable()
        #expect(try await engine.webState.apiTokenCredential(token: token) == nil, "\(name): disabled account")
    }
}
