import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// Issue 29, roles: an organisation's administrator manages its own organisation's accounts and API tokens in the
/// web inbox (`/admin/accounts`) and reads no thread unless it is also a counsellor or team lead. Over the real
/// router (authentication, CSRF, gates) and a real ThreadStore file; passwords are checked with bcrypt.
@Suite struct OrganisationAdminTests {
    static func post(_ harness: WebHarness, _ client: any TestClientProtocol, _ user: String, _ uri: String,
                     _ values: [String: String]) async throws -> TestResponse {
        var headers = harness.browser(user, form: true)
        headers[.origin] = "http://localhost"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: harness.form(user, values))
    }

    /// The secret a page shows once.
    static func secret(_ page: TestResponse) -> String? {
        guard let start = page.text.range(of: "<output class=\"secret\"><code>"),
            let end = page.text.range(of: "</code>", range: start.upperBound..<page.text.endIndex)
        else { return nil }
        return String(page.text[start.upperBound..<end.lowerBound])
    }

    @Test func anAdministratorMakesAnAccountOfItsOwnOrganisationWithAPasswordShownOnce() async throws {
        let harness = try await WebHarness(organisations: true)
        let own = harness.pipe.mailbox.field
        let path = "/admin/accounts"
        nonisolated(unsafe) var password = ""
        try await harness.test { client in
            // Only org-a's field is offered; a box for org-b's field sent anyway is ignored.
            let list = try await client.execute(uri: path, method: .get, headers: harness.browser("verwaltung"))
            #expect(list.status == .ok)
            #expect(list.text.contains("name=\"field-\(own.rawValue)\"") && !list.text.contains("field-familie"))
            #expect(list.text.contains("href=\"/admin/accounts\""), "the navigation names the administration")
            let made = try await Self.post(harness, client, "verwaltung", path, [
                "username": "neu", "display_name": "Neue Beraterin", "language": "en", "role": "counsellor",
                "field-\(own.rawValue)": "on", "field-familie": "on",
            ])
            #expect(made.status == .ok, "\(made.status) \(made.text)")
            password = try #require(Self.secret(made))
            #expect(PasswordPolicy.check(password) == .acceptable)
            // A counsellor whose only field is another organisation's has none: refused.
            let refused = try await Self.post(harness, client, "verwaltung", path, [
                "username": "neu2", "display_name": "X", "role": "counsellor", "field-familie": "on",
            ])
            #expect(refused.status == .badRequest)
            let taken = try await Self.post(harness, client, "verwaltung", path, [
                "username": "NEU@org-a", "display_name": "X", "role": "teamlead",
            ])
            #expect(taken.status == .conflict)
            // With organisations a new name lives in the organisation's own namespace (`@org-a`): org-b's "fremd"
            // is no conflict, so a refusal tells nothing about another organisation's staff; nor is a name that
            // looks like another organisation's.
            let other = try await Self.post(harness, client, "verwaltung", path, [
                "username": "fremd", "display_name": "X", "role": "teamlead",
            ])
            #expect(other.status == .ok && other.text.contains("fremd@org-a"))
            let lookalike = try await Self.post(harness, client, "verwaltung", path, [
                "username": "x@org-b", "display_name": "X", "role": "teamlead",
            ])
            #expect(lookalike.status == .ok && lookalike.text.contains("x@org-b@org-a"))
            for empty in ["", "@org-a", "  "] {
                let refused = try await Self.post(harness, client, "verwaltung", path, [
                    "username": empty, "display_name": "X", "role": "teamlead",
                ])
                #expect(refused.status == .badRequest, "\(empty)")
            }
        }
        let account = try #require(try await harness.store.read { tx in try tx.account(named: "neu@org-a") })
        #expect(account.organisation?.rawValue == "org-a" && account.fields == [own] && account.role == .counsellor)
        #expect(account.mustChangePassword && !account.administers && account.language == .english)
        #expect(try await harness.store.read { tx in try tx.account(named: "neu2@org-a") } == nil)
        let credentials = try #require(try await harness.store.read { tx in
            try tx.loginCredentials(username: "neu@org-a")
        })
        #expect(try await PasswordHasher(cost: 4).verify(password, against: credentials.passwordHash))
        // Audited with the administrator as actor, by browser.
        let audit = try await harness.store.read { tx in try tx.auditEntries() }
        #expect(audit.contains { $0.event == .accountCreated && $0.actor == harness.counsellor("verwaltung").id
            && $0.channel == .browser })
        // Nothing of it in the log: no user name, no password.
        for line in harness.pipe.logs.all {
            #expect(!line.contains(password) && !line.contains("Neue Beraterin"), "\(line)")
        }
    }

    @Test func anAdministratorReadsNoThreadAndOthersDoNotSeeTheAdministration() async throws {
        let harness = try await WebHarness(organisations: true)
        let thread = try await harness.importStoreThread(messages: 1)  // org-a's field
        try await harness.test { client in
            let home = try await client.execute(uri: "/", method: .get, headers: harness.browser("verwaltung"))
            #expect(home.headers[.location] == "/admin/accounts")
            let open = try await client.execute(uri: "/threads/\(thread.unredactedDescription)", method: .get,
                                                headers: harness.browser("verwaltung"))
            #expect(open.status == .notFound)
            let api = try await client.execute(uri: "/api/v1/threads", method: .get, headers: harness.api("verwaltung"))
            #expect(api.status == .ok && !api.text.contains(thread.unredactedDescription))
            // A team lead is no administrator: the pages are not found and not linked.
            let page = try await client.execute(uri: "/admin/accounts", method: .get, headers: harness.browser("leitung"))
            #expect(page.status == .notFound)
            let inbox = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("leitung"))
            #expect(!inbox.text.contains("/admin/accounts"))
            let change = try await Self.post(harness, client, "leitung",
                                             "/admin/accounts/\(harness.counsellor("berater").id.unredactedDescription)/role",
                                             ["role": "teamlead"])
            #expect(change.status == .notFound)
        }
        #expect(try await harness.store.read { tx in try tx.account(named: "berater") }?.role == .counsellor)
    }

    @Test func roleResetDisableAndTokensWithinTheOrganisation() async throws {
        let harness = try await WebHarness(organisations: true)
        let admin = harness.counsellor("verwaltung").id
        let berater = harness.counsellor("berater").id.unredactedDescription
        let leitung = harness.counsellor("leitung").id.unredactedDescription
        let own = admin.unredactedDescription
        let base = "/admin/accounts/"
        nonisolated(unsafe) var pauseID = ""
        try await harness.test { client in
            // Its own account: not disabled, reset or stripped of the right here.
            for action in ["disable", "reset", "delete"] {
                let refused = try await Self.post(harness, client, "verwaltung", base + own + "/" + action,
                                                  ["confirm": "yes"])
                #expect(refused.status == .badRequest, "\(action)")
            }
            let strip = try await Self.post(harness, client, "verwaltung", base + own + "/role", ["role": "teamlead"])
            #expect(strip.status == .badRequest)
            // A token acts as its account: not for one that reads more than the administrator (nothing).
            let beyond = try await Self.post(harness, client, "verwaltung", base + leitung + "/tokens",
                                             ["label": "platform"])
            #expect(beyond.status == .forbidden)

            // A token for itself is within its reach (nothing); when it then reaches more, the token is revoked.
            let ownToken = try await Self.post(harness, client, "verwaltung",
                                               base + admin.unredactedDescription + "/tokens", ["label": "eigen"])
            #expect(ownToken.status == .ok && Self.secret(ownToken) != nil)
            // No token for a disabled account.
            let fremdLike = try await Self.post(harness, client, "verwaltung", "/admin/accounts", [
                "username": "pause", "display_name": "P", "role": "counsellor", "administers": "on",
            ])
            #expect(fremdLike.status == .ok)
            let pause = try #require(try await harness.store.read { tx in try tx.account(named: "pause@org-a") })
            let pausePath = base + pause.id.unredactedDescription
            pauseID = pause.id.unredactedDescription
            #expect(try await Self.post(harness, client, "verwaltung", pausePath + "/disable", [:]).status == .seeOther)
            let disabledToken = try await Self.post(harness, client, "verwaltung", pausePath + "/tokens",
                                                    ["label": "x"])
            #expect(disabledToken.status == .badRequest)

            // The counsellor becomes team lead and administrator.
            let promoted = try await Self.post(harness, client, "verwaltung", base + berater + "/role",
                                               ["role": "teamlead", "administers": "on"])
            #expect(promoted.status == .seeOther)
            let shown = try await client.execute(uri: base + berater + "?done=role", method: .get,
                                                 headers: harness.browser("verwaltung"))
            #expect(shown.text.contains("Rolle und Felder gespeichert."))
            // The administrator makes itself team lead; now a token for the team lead is within its reach.
            let itself = try await Self.post(harness, client, "verwaltung", base + own + "/role",
                                             ["role": "teamlead", "administers": "on"])
            #expect(itself.status == .seeOther)
            let token = try await Self.post(harness, client, "verwaltung", base + leitung + "/tokens",
                                            ["label": "platform"])
            #expect(token.status == .ok)
            let secret = try #require(Self.secret(token))
            let threads = try await client.execute(uri: "/api/v1/threads", method: .get,
                                                   headers: [.authorization: "Bearer \(secret)"])
            #expect(threads.status == .ok)

            // A reset: a new password shown once, the old session ended.
            let reset = try await Self.post(harness, client, "verwaltung", base + leitung + "/reset", [:])
            #expect(reset.status == .ok && Self.secret(reset) != nil)
            let ended = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("leitung"))
            #expect(ended.status == .seeOther || ended.status == .found)
            // Disabled: the counsellor's session ends too.
            let disabled = try await Self.post(harness, client, "verwaltung", base + berater + "/disable", [:])
            #expect(disabled.status == .seeOther)
            let gone = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("berater"))
            #expect(gone.status == .seeOther || gone.status == .found)
        }
        // The organisation's audit log shows it to its administrator: what it did, named.
        try await harness.test { client in
            let log = try await client.execute(uri: "/admin/audit", method: .get, headers: harness.browser("verwaltung"))
            #expect(log.status == .ok)
            for event in ["accountRoleChanged", "apiTokenCreated", "accountReset", "accountDisabled"] {
                #expect(log.text.contains("<td>\(event)</td><td>verwaltung</td><td>browser</td>"), "\(event)")
            }
            // No sequence numbers (they count every organisation's events): the cursor is opaque.
            #expect(!log.text.contains("<td>#"))
            for cursor in ["x", "5", String(repeating: "A", count: 40)] {
                let bad = try await client.execute(uri: "/admin/audit?before=\(cursor)", method: .get,
                                                   headers: harness.browser("verwaltung"))
                #expect(bad.status == .badRequest, "\(cursor)")
            }
        }
        let promoted = try #require(try await harness.store.read { tx in try tx.account(named: "berater") })
        #expect(promoted.role == .teamLead && promoted.administers && promoted.isDisabled)
        let leitungAccount = try #require(try await harness.store.read { tx in try tx.account(named: "leitung") })
        #expect(leitungAccount.mustChangePassword)
        // The token made above died with the reset; the administrator's own one when it became team lead.
        let tokens = try await harness.store.read { tx in try tx.apiTokens() }
        #expect(tokens.filter { $0.label == "platform" || $0.label == "eigen" }.count == 2)
        #expect(tokens.filter { $0.label == "platform" || $0.label == "eigen" }.allSatisfy { $0.revokedAt != nil })
        #expect(!tokens.contains { $0.accountID.unredactedDescription == pauseID })
        let audit = try await harness.store.read { tx in try tx.auditEntries() }
        let byAdmin = audit.filter { $0.actor == admin }.map(\.event)
        for event: AuditEvent in [.accountRoleChanged, .apiTokenCreated, .accountReset, .accountDisabled] {
            #expect(byAdmin.contains(event), "\(event)")
        }
    }

    /// Without `[[organisation]]` an administrator manages the one implicit organisation: every configured field is
    /// offered, and the accounts it makes belong to no organisation.
    @Test func inTheImplicitOrganisationEveryFieldIsOffered() async throws {
        let harness = try await WebHarness(administrators: true)
        try await harness.test { client in
            let list = try await client.execute(uri: "/admin/accounts", method: .get,
                                                headers: harness.browser("verwaltung"))
            #expect(list.status == .ok && list.text.contains("field-familie") && list.text.contains("fremd"))
            let made = try await Self.post(harness, client, "verwaltung", "/admin/accounts", [
                "username": "zweite", "display_name": "Zweite Verwaltung", "role": "counsellor", "administers": "on",
            ])
            #expect(made.status == .ok)
        }
        let made = try #require(try await harness.store.read { tx in try tx.account(named: "zweite") })
        #expect(made.organisation == nil && made.administers && !made.readsThreads)
    }

    /// A form cut at the parser's field limit would drop field boxes (and so take fields and threads away): refused.
    @Test func anOverlongRoleFormIsRefusedNotTakenInPart() async throws {
        let harness = try await WebHarness(organisations: true)
        let berater = harness.counsellor("berater").id.unredactedDescription
        var values = ["role": "teamlead"]
        for index in 0..<120 { values["x\(index)"] = "1" }
        let form = values
        try await harness.test { client in
            let refused = try await Self.post(harness, client, "verwaltung", "/admin/accounts/\(berater)/role", form)
            #expect(refused.status == .badRequest)
        }
        #expect(try await harness.store.read { tx in try tx.account(named: "berater") }?.role == .counsellor)
    }

    /// An account moved into the organisation brings none of its earlier organisation's history into the audit page:
    /// only its move and what follows. Paging back goes through opaque cursors.
    @Test func anAccountMovedInBringsNoHistoryOfItsOldOrganisation() async throws {
        let harness = try await WebHarness(organisations: true)
        let fremd = harness.counsellor("fremd").id
        let admin = ThreadStoreAccountAdmin(harness.store)
        // Its life in org-b: made (by the harness), its token made and revoked, disabled, enabled.
        try await admin.revokeAPIToken(harness.tokenIDs["fremd"]!, actor: fremd, via: .browser)
        try await admin.disableAccount(fremd, actor: nil, via: .commandLine)
        try await admin.enableAccount(fremd, actor: nil, via: .commandLine)
        try await admin.setOrganisation(try OrganisationID("org-a"), of: fremd, actor: nil, via: .commandLine)
        let moved = try #require(try await harness.store.read { tx in try tx.account(fremd) })
        #expect(moved.role == .counsellor && moved.fields.isEmpty && !moved.administers)
        // Enough entries for a second page.
        for _ in 0..<60 {
            try await admin.disableAccount(harness.counsellor("berater").id, actor: nil, via: .commandLine)
            try await admin.enableAccount(harness.counsellor("berater").id, actor: nil, via: .commandLine)
        }
        try await harness.test { client in
            var seen: [String] = []
            var uri: String? = "/admin/audit"
            var pages = 0
            while let next = uri, pages < 5 {
                let page = try await client.execute(uri: next, method: .get, headers: harness.browser("verwaltung"))
                #expect(page.status == .ok)
                seen.append(page.text)
                pages += 1
                uri = page.text.range(of: "href=\"/admin/audit?before=").map { start in
                    let rest = page.text[start.upperBound...]
                    return "/admin/audit?before=" + rest.prefix { $0 != "\"" }
                }
            }
            #expect(pages == 2, "two pages of 100")
            let all = seen.joined()
            // fremd appears once: as the item of its move; nothing of its disabling, enabling or token in org-b.
            #expect(all.components(separatedBy: "<td>fremd</td>").count - 1 == 1, "\(all.components(separatedBy: "<td>fremd</td>").count - 1)")
            #expect(all.contains("<td>accountOrganisationChanged</td>"))
        }
    }
}
