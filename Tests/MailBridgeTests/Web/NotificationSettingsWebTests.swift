import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// `/settings/notifications`: an account sets its own notification address and mode; the address is stored
/// sealed, shown only to the account, never logged or echoed on error, and the change is audited.
@Suite struct NotificationSettingsWebTests {
    @Test func anAccountSetsAndClearsItsOwnAddressAndMode() async throws {
        let harness = try await WebHarness()
        let address = "anna.\(UUID().uuidString.prefix(8).lowercased())@staff.example"
        let id = harness.counsellor("berater").id
        try await harness.test { client in
            let page = try await client.execute(uri: "/settings/notifications", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.status == .ok && page.text.contains("<h1>Benachrichtigungen</h1>"))
            #expect(page.text.contains("<a href=\"/settings/notifications\">Benachrichtigungen</a>"))

            let saved = try await client.execute(uri: "/settings/notifications", method: .post,
                                                 headers: harness.browser("berater", form: true),
                                                 body: harness.form("berater", ["address": address, "mode": "daily"]))
            #expect(saved.status == .seeOther || saved.status == .found)
            let shown = try await client.execute(uri: "/settings/notifications?saved=1", method: .get,
                                                 headers: harness.browser("berater"))
            #expect(shown.text.contains("value=\"\(address)\"") && shown.text.contains("Gespeichert."))
            #expect(shown.text.contains("<option value=\"daily\" selected>"))

            // Another account sees its own (empty) settings, not this one.
            let other = try await client.execute(uri: "/settings/notifications", method: .get,
                                                 headers: harness.browser("leitung"))
            #expect(!other.text.contains(address))

            // A bad address or mode: 400 with a fixed text, nothing echoed, nothing changed.
            for values in [["address": "kein at-zeichen CANARY", "mode": "hourly"],
                           ["address": "x@example.org", "mode": "CANARY"]] {
                let bad = try await client.execute(uri: "/settings/notifications", method: .post,
                                                   headers: harness.browser("berater", form: true),
                                                   body: harness.form("berater", values))
                #expect(bad.status == .badRequest && !bad.text.contains("CANARY"))
            }
            // Without the CSRF token: refused.
            let forged = try await client.execute(uri: "/settings/notifications", method: .post,
                                                  headers: harness.browser("berater", form: true),
                                                  body: ByteBuffer(string: "address=evil%40example.org&mode=hourly"))
            #expect(forged.status == .forbidden)
        }
        let settings = try await harness.store.read { try $0.notificationSettings(of: id) }
        #expect(settings?.address?.unredactedDescription == address && settings?.mode == .daily)

        try await harness.test { client in
            let cleared = try await client.execute(uri: "/settings/notifications", method: .post,
                                                   headers: harness.browser("berater", form: true),
                                                   body: harness.form("berater", ["address": "", "mode": "hourly"]))
            #expect(cleared.status == .seeOther || cleared.status == .found)
        }
        #expect(try await harness.store.read { try $0.notificationSettings(of: id) }?.address == nil)
        let audit = try await harness.store.read { try $0.auditEntries() }
            .filter { $0.event == .notificationSettingsChanged }
        #expect(audit.map(\.actor) == [id, id] && audit.map(\.channel) == [.browser, .browser])
        for line in harness.pipe.logs.all { #expect(!line.contains(address), "address in a log line: \(line)") }
        #expect(!(try await harness.auditTableDump()).contains(address))
        await harness.pipe.close()
    }
}
