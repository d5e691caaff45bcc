import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// Issue 29, "Isolation everywhere": over every route the web inbox and the API serve, an account of organisation A
/// (its counsellor and its team lead, by browser session and by API token) asking for a thread of organisation B
/// gets exactly the answer it gets for an ID that does not exist: same status, same body (with the two IDs put in
/// the same place), and B's thread is unchanged afterwards. A route without a case in ``cases`` fails the test, so a
/// new route cannot be added without saying how it is isolated.
@Suite struct OrganisationIsolationTests {
    /// How a route is checked.
    enum Case {
        /// Takes a thread ID (`{id}`, and `{message}` if the path has one); `body`: the form (browser) or JSON (API).
        case thread(body: [String: String])
        /// Lists threads: B's thread ID never appears.
        case list
        /// Names no thread (login, stylesheets, settings, the API description): nothing to isolate.
        case noThread
        /// Takes an account ID (`{account}`, and `{token}` if the path has one): the organisation administrator's
        /// pages. Another organisation's account (and its token) answers like one that does not exist.
        case account(body: [String: String])
        /// Lists accounts or audit entries: another organisation's accounts and threads never appear.
        case accounts
    }

    /// Every route of `WebRouter.make`, by method and path as the router lists them.
    static let cases: [String: Case] = [
        "GET /": .noThread,
        "GET /favicon.ico": .noThread,
        "GET /static/app.css": .noThread,
        "GET /static/auth.css": .noThread,
        "GET /login": .noThread,
        "POST /login": .noThread,
        "GET /login/totp": .noThread,
        "POST /login/totp": .noThread,
        "GET /login/totp/enrol": .noThread,
        "POST /login/totp/enrol": .noThread,
        "POST /logout": .noThread,
        "GET /account/password": .noThread,
        "POST /account/password": .noThread,
        "GET /settings/notifications": .noThread,
        "POST /settings/notifications": .noThread,
        "GET /threads": .list,
        "GET /threads/{id}": .thread(body: [:]),
        "POST /threads/{id}/reply": .thread(body: ["text": "Antwort"]),
        "POST /threads/{id}/state": .thread(body: ["state": "closed"]),
        "POST /threads/{id}/assignment": .thread(body: ["assignee": ""]),
        "POST /threads/{id}/key-change": .thread(body: [:]),
        "GET /threads/{id}/delete": .thread(body: [:]),
        "POST /threads/{id}/delete": .thread(body: ["confirm": "yes"]),
        "GET /threads/{id}/messages/{message}/attachments/{position}": .thread(body: [:]),
        "GET /threads/{id}/messages/{message}/parts/{index}": .thread(body: [:]),
        "GET /api/v1/openapi.json": .noThread,
        "GET /api/v1/threads": .list,
        "GET /api/v1/threads/{id}": .thread(body: [:]),
        "POST /api/v1/threads/{id}/replies": .thread(body: ["text": "Antwort"]),
        "PUT /api/v1/threads/{id}/state": .thread(body: ["state": "closed"]),
        "PUT /api/v1/threads/{id}/assignment": .thread(body: ["assignedTo": "00000000000000000000000000000001"]),
        "GET /api/v1/threads/{id}/messages/{message}/attachments/{position}": .thread(body: [:]),
        "GET /admin/accounts": .accounts,
        "GET /admin/audit": .accounts,
        // Makes an account in the administrator's own organisation (OrganisationAdminTests).
        "POST /admin/accounts": .noThread,
        "GET /admin/accounts/{account}": .account(body: [:]),
        "POST /admin/accounts/{account}/role": .account(body: ["role": "teamlead", "administers": "on"]),
        "POST /admin/accounts/{account}/disable": .account(body: [:]),
        "POST /admin/accounts/{account}/enable": .account(body: [:]),
        "POST /admin/accounts/{account}/delete": .account(body: ["confirm": "yes"]),
        "POST /admin/accounts/{account}/reset": .account(body: [:]),
        "POST /admin/accounts/{account}/tokens": .account(body: ["label": "fremd"]),
        "POST /admin/accounts/{account}/tokens/{token}/revoke": .account(body: [:]),
    ]

    @Test func everyRouteAnswersAnotherOrganisationsThreadLikeOneThatDoesNotExist() async throws {
        let harness = try await WebHarness(organisations: true)
        let canary = "ORG-B-CANARY-\(UUID().uuidString.prefix(8))"
        let foreign = try await harness.importForeignThread(canary: canary)  // field of org-b
        let own = try await harness.importStoreThread(messages: 1)  // field of org-a: the viewers see this one
        let opened = try await harness.store.read { tx in try tx.openInboxThread(foreign) }
        let foreignMessage = try #require(opened.messages.first).id.unredactedDescription
        let ghost = String(repeating: "5", count: 32)
        let ghostMessage = String(repeating: "6", count: 32)
        let before = try await harness.store.read { tx in try tx.thread(foreign) }
        // Another organisation's account (org-b's counsellor) and its API token, and IDs nobody has.
        let (foreignAccount, foreignToken) = (harness.counsellor("fremd").id.unredactedDescription,
                                              harness.tokenIDs["fremd"]!.unredactedDescription)
        let (ghostAccount, ghostToken) = (String(repeating: "7", count: 32), String(repeating: "8", count: 32))
        let accountBefore = try await harness.store.read { tx in try tx.account(named: "fremd") }

        let routes = harness.router().routes.map { "\($0.method) \($0.path)" }
        #expect(!routes.isEmpty)
        let missing = routes.filter { Self.cases[$0] == nil }
        #expect(missing.isEmpty, "routes without an isolation case: \(missing)")
        let stale = Set(Self.cases.keys).subtracting(routes)
        #expect(stale.isEmpty, "cases for routes that are gone: \(stale.sorted())")

        try await harness.test { client in
            for route in routes.sorted() {
                guard let check = Self.cases[route] else { continue }
                let parts = route.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                let pattern = String(parts[1])
                let isAPI = pattern.hasPrefix("/api/")
                let viewers: [String] = switch check {
                case .account, .accounts: ["berater", "leitung", "verwaltung"]
                default: ["berater", "leitung"]
                }
                for viewer in viewers {
                    switch check {
                    case .noThread:
                        continue
                    case .accounts:
                        let response = try await client.execute(uri: pattern, method: .get,
                                                                headers: harness.browser(viewer))
                        guard viewer == "verwaltung" else {
                            #expect(response.status == .notFound, "\(route) for \(viewer)")
                            continue
                        }
                        #expect(response.status == .ok, "\(route) for \(viewer)")
                        for name in ["fremd", "leitung-b", "verwaltung-b", foreignAccount, String(foreignAccount.prefix(8)),
                                     String(foreign.unredactedDescription.prefix(8)), canary] {
                            #expect(!response.text.contains(name), "\(route) shows \(name)")
                        }
                        #expect(response.text.contains("berater") && response.text.contains("leitung"))
                    case .account(let body):
                        func ask(_ account: String, _ token: String) async throws -> TestResponse {
                            let uri = pattern.replacingOccurrences(of: "{account}", with: account)
                                .replacingOccurrences(of: "{token}", with: token)
                            var headers = harness.browser(viewer, form: method == .post)
                            if method == .post { headers[.origin] = "http://localhost" }
                            return try await client.execute(uri: uri, method: method, headers: headers,
                                                            body: method == .post ? harness.form(viewer, body) : nil)
                        }
                        let asked = try await ask(foreignAccount, foreignToken)
                        let none = try await ask(ghostAccount, ghostToken)
                        let label = "\(route) for \(viewer)"
                        #expect(asked.status == none.status && asked.status == .notFound, "\(label): \(asked.status) vs \(none.status)")
                        let normalised = asked.text.replacingOccurrences(of: foreignAccount, with: ghostAccount)
                            .replacingOccurrences(of: foreignToken, with: ghostToken)
                        #expect(normalised == none.text, "\(label): the bodies differ")
                        #expect(Self.sameHeaders(asked, none, replacing: [foreignAccount: ghostAccount,
                                                                          foreignToken: ghostToken]),
                                "\(label): the headers differ")
                    case .list:
                        let response = try await client.execute(
                            uri: pattern, method: .get, headers: isAPI ? harness.api(viewer) : harness.browser(viewer))
                        #expect(response.status == .ok, "\(route) for \(viewer)")
                        #expect(!response.text.contains(foreign.unredactedDescription), "\(route) for \(viewer)")
                        #expect(!response.text.contains(canary), "\(route) for \(viewer)")
                        #expect(response.text.contains(own.unredactedDescription), "\(route) for \(viewer)")
                    case .thread(let body):
                        func ask(_ thread: String, _ message: String) async throws -> TestResponse {
                            let uri = Self.fill(pattern, thread: thread, message: message)
                            var headers = isAPI ? harness.api(viewer, json: !body.isEmpty)
                                : harness.browser(viewer, form: method == .post)
                            let payload: ByteBuffer?
                            if isAPI {
                                payload = body.isEmpty ? nil
                                    : ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))
                            } else if method == .post {
                                payload = harness.form(viewer, body)
                                headers[.origin] = "http://localhost"
                            } else {
                                payload = nil
                            }
                            return try await client.execute(uri: uri, method: method, headers: headers, body: payload)
                        }
                        let asked = try await ask(foreign.unredactedDescription, foreignMessage)
                        let none = try await ask(ghost, ghostMessage)
                        let label = "\(route) for \(viewer)"
                        #expect(asked.status == none.status, "\(label): \(asked.status) vs \(none.status)")
                        #expect(asked.status.code >= 400, "\(label): \(asked.status)")
                        let normalised = asked.text
                            .replacingOccurrences(of: foreign.unredactedDescription, with: ghost)
                            .replacingOccurrences(of: foreignMessage, with: ghostMessage)
                        #expect(normalised == none.text, "\(label): the bodies differ")
                        #expect(!asked.text.contains(canary), "\(label)")
                        #expect(Self.sameHeaders(asked, none, replacing: [foreign.unredactedDescription: ghost]), "\(label): the headers differ: \(asked.headers) vs \(none.headers)")
                    }
                }
            }
        }

        // Nothing of B's thread changed: not closed, not assigned, not deleted, no reply queued.
        let after = try await harness.store.read { tx in try tx.thread(foreign) }
        #expect(after == before)
        let stillOpen = try await harness.store.read { tx in try tx.openInboxThread(foreign) }
        #expect(stillOpen.messages.count == opened.messages.count)
        // Nor of B's account: same role, fields and state, same password, its token live.
        let accountAfter = try await harness.store.read { tx in try tx.account(named: "fremd") }
        #expect(accountAfter == accountBefore)
        let tokenInfo = try await harness.store.read { tx in try tx.apiTokens() }
        #expect(tokenInfo.contains { $0.id == harness.tokenIDs["fremd"] && $0.revokedAt == nil })

        // The account cases are live: org-b's administrator reaches the same account and token.
        try await harness.test { client in
            let page = try await client.execute(uri: "/admin/accounts/\(foreignAccount)", method: .get,
                                                headers: harness.browser("verwaltung-b"))
            #expect(page.status == .ok && page.text.contains("fremd"))
            var headers = harness.browser("verwaltung-b", form: true)
            headers[.origin] = "http://localhost"
            let revoke = try await client.execute(
                uri: "/admin/accounts/\(foreignAccount)/tokens/\(foreignToken)/revoke", method: .post,
                headers: headers, body: harness.form("verwaltung-b", [:]))
            #expect(revoke.status == .seeOther, "\(revoke.status)")
        }
        #expect(try await harness.store.read { tx in try tx.apiTokens() }
            .contains { $0.id == harness.tokenIDs["fremd"] && $0.revokedAt != nil })

        // The same requests do reach the thread for its own organisation's team lead: the cases are live.
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(foreign.unredactedDescription)", method: .get,
                                                headers: harness.browser("leitung-b"))
            #expect(page.status == .ok && page.text.contains(canary))
            let api = try await client.execute(uri: "/api/v1/threads/\(foreign.unredactedDescription)",
                                               method: .get, headers: harness.api("leitung-b"))
            #expect(api.status == .ok)
            let download = try await client.execute(
                uri: "/api/v1/threads/\(foreign.unredactedDescription)/messages/\(foreignMessage)/attachments/0",
                method: .get, headers: harness.api("leitung-b"))
            #expect(download.status == .ok && download.text == canary)
            let list = try await client.execute(uri: "/api/v1/threads", method: .get, headers: harness.api("leitung-b"))
            #expect(list.text.contains(foreign.unredactedDescription) && !list.text.contains(own.unredactedDescription))
        }
    }

    @Test func aTeamLeadAssignsOnlyWithinItsOrganisation() async throws {
        let harness = try await WebHarness(organisations: true)
        let foreign = try await harness.importForeignThread(canary: "X")  // org-b's field
        let fremd = harness.counsellor("fremd").id.unredactedDescription
        let berater = harness.counsellor("berater").id.unredactedDescription
        try await harness.test { client in
            // org-b's team lead may hand the thread to org-b's counsellor, never to org-a's.
            let page = try await client.execute(uri: "/threads/\(foreign.unredactedDescription)", method: .get,
                                                headers: harness.browser("leitung-b"))
            #expect(page.text.contains("<option value=\"\(fremd)\">") && !page.text.contains(berater))
            let refused = try await client.execute(
                uri: "/api/v1/threads/\(foreign.unredactedDescription)/assignment", method: .put,
                headers: harness.api("leitung-b", json: true),
                body: ByteBuffer(string: "{\"assignedTo\":\"\(berater)\"}"))
            #expect(refused.status.code == 400 || refused.status.code == 422, "\(refused.status) \(refused.text)")
            let done = try await client.execute(
                uri: "/api/v1/threads/\(foreign.unredactedDescription)/assignment", method: .put,
                headers: harness.api("leitung-b", json: true),
                body: ByteBuffer(string: "{\"assignedTo\":\"\(fremd)\"}"))
            #expect(done.status == .ok)
        }
    }

    /// An account whose organisation the configuration does not name (or one with an organisation on an
    /// installation without any) works nowhere: its session is no session, its token is refused, it cannot log in.
    @Test func anAccountOutsideTheConfiguredOrganisationsIsRefused() async throws {
        let harness = try await WebHarness(organisations: true)
        let directory = harness.services.organisations
        let account = try await harness.store.read { tx in try tx.account(named: "fremd") }
        var stray = try #require(account)
        stray.organisation = try OrganisationID("org-gone")
        #expect(Counsellor(stray, in: directory) == nil)
        stray.organisation = nil
        #expect(Counsellor(stray, in: directory) == nil)
        #expect(Counsellor(stray, in: .implicit) != nil)
        stray.organisation = try OrganisationID("org-b")
        #expect(Counsellor(stray, in: .implicit) == nil)

        // Moved out of every configured organisation by the administrator: its session ended, its token refused.
        let id = harness.counsellor("fremd").id
        try await ThreadStoreAccountAdmin(harness.store).setOrganisation(
            try OrganisationID("org-gone"), of: id, actor: nil, via: .commandLine)
        try await harness.test { client in
            let login = try await Self.expectShutOut("fremd", harness, client)
            #expect(login.status == .forbidden)
        }
    }

    /// `user`'s token is refused and its session sends it to the login page; returns the answer to its login with
    /// the right password (the caller says which status it must be).
    static func expectShutOut(_ user: String, _ harness: WebHarness, _ client: any TestClientProtocol) async throws
        -> TestResponse
    {
        let list = try await client.execute(uri: "/api/v1/threads", method: .get, headers: harness.api(user))
        #expect(list.status == .unauthorized)
        let page = try await client.execute(uri: "/threads", method: .get, headers: harness.browser(user))
        #expect(page.status == .seeOther || page.status == .found, "\(page.status)")
        return try await client.execute(
            uri: "/login", method: .post, headers: harness.browser(nil, form: true),
            body: ByteBuffer(string: "username=\(user)&password=\(WebHarness.password)"))
    }

    /// Issue 29: an organisation whose own master key is not loaded is closed: its accounts' sessions and tokens
    /// reach nothing, and its counsellor who logs in with the right password is told the inbox is unavailable
    /// (503); a wrong password gets the usual answer, and the other organisation works as before.
    @Test func theAccountsOfAnOrganisationWithoutItsKeyAreToldAndReachNothing() async throws {
        var closed = try await WebHarness(organisations: true)
        closed.services.organisations = closed.services.organisations.closing([try OrganisationID("org-b")])
        let harness = closed
        try await harness.test { client in
            let login = try await Self.expectShutOut("fremd", harness, client)
            #expect(login.status == .serviceUnavailable)
            #expect(login.text.contains("key is not loaded") || login.text.contains("Schlüssel ist nicht geladen"),
                    "\(login.text)")
            let wrong = try await client.execute(
                uri: "/login", method: .post, headers: harness.browser(nil, form: true),
                body: ByteBuffer(string: "username=fremd&password=wrong-password"))
            #expect(wrong.status == .forbidden && !wrong.text.contains("key"))
            let own = try await client.execute(uri: "/api/v1/threads", method: .get, headers: harness.api("berater"))
            #expect(own.status == .ok)
        }
    }

    /// Issue 29: the login page names the organisation of `?organisation=ID` (the link an organisation gives its
    /// staff); an unknown ID names none.
    @Test func theLoginPageNamesTheOrganisationOfItsLink() async throws {
        let harness = try await WebHarness(organisations: true)
        try await harness.test { client in
            let named = try await client.execute(uri: "/login?organisation=org-b", method: .get)
            #expect(named.text.contains("<p class=\"organisation\">Organisation B</p>"), "\(named.text)")
            #expect(named.text.contains("<title>") && named.text.contains("Organisation B</title>"))
            let unknown = try await client.execute(uri: "/login?organisation=org-x", method: .get)
            #expect(!unknown.text.contains("Organisation A") && !unknown.text.contains("Organisation B"))
            #expect(!unknown.text.contains("organisation=org-x"), "an unknown ID is not carried on")
            // The form posts back to the same organisation: sent back after an error, it still names it.
            #expect(named.text.contains("action=\"/login?lang=de&amp;organisation=org-b\""), "\(named.text)")
            let failed = try await client.execute(
                uri: "/login?lang=de&organisation=org-b", method: .post, headers: harness.browser(nil, form: true),
                body: ByteBuffer(string: "username=fremd&password=wrong-password"))
            #expect(failed.status == .forbidden && failed.text.contains("<p class=\"organisation\">Organisation B</p>"),
                    "\(failed.text)")
        }
    }

    /// A field handed to another organisation (a configuration change and a restart): at start the gateway
    /// unassigns its threads from the old organisation's accounts, so that none of their notices reaches them.
    @Test func atStartThreadsLeaveTheAccountsOfAnOrganisationThatNoLongerOwnsTheirField() async throws {
        let harness = try await WebHarness(organisations: true)
        let foreign = try await harness.importForeignThread(canary: "X")  // "familie", org-b's
        let fremd = harness.counsellor("fremd").id
        _ = try await ThreadStoreInbox(harness.store).assign(foreign, to: fremd, by: InboxActor(
            account: fremd, channel: .browser, scope: .everyField)) { _, _ in true }
        let stores = GatewayStores.sqlite(harness.store)
        let logger = harness.pipe.logs.logger("start")
        // As configured: nothing changes.
        #expect(try await GatewayOrganisations.reconcileAssignments(harness.services.organisations, stores: stores,
                                                                    logger: logger) == 0)
        #expect(try await ThreadStoreInbox(harness.store).inboxThread(foreign, scope: .everyField)?.assignedTo == fremd)
        // Without organisations nothing is checked.
        #expect(try await GatewayOrganisations.reconcileAssignments(.implicit, stores: stores, logger: logger) == 0)
        // "familie" now belongs to org-a: fremd (org-b) loses the thread.
        let (a, b) = (try OrganisationID("org-a"), try OrganisationID("org-b"))
        let link = try RedirectLink("https://beratung.example/login")
        var moved = BridgeConfiguration.Mailbox(
            address: try EmailAddress("familie@example.org"), field: WebHarness.otherField,
            teamNotificationAddress: try EmailAddress("team@example.org"), redirectLink: link)
        moved.organisation = a
        let changed = OrganisationDirectory(organisations: [.init(id: a, name: "A"), .init(id: b, name: "B")],
                                            mailboxes: [moved])
        #expect(try await GatewayOrganisations.reconcileAssignments(changed, stores: stores, logger: logger) == 1)
        #expect(try await ThreadStoreInbox(harness.store).inboxThread(foreign, scope: .everyField)?.assignedTo == nil)
    }

    static func fill(_ pattern: String, thread: String, message: String) -> String {
        pattern.replacingOccurrences(of: "{id}", with: thread)
            .replacingOccurrences(of: "{message}", with: message)
            .replacingOccurrences(of: "{position}", with: "0")
            .replacingOccurrences(of: "{index}", with: "0")
    }

    /// The same header names and values, but for the per-response ones (date, CSP nonce).
    /// `replacing`: texts of `a` put in the place of those of `b` (the asked ID by the missing one).
    static func sameHeaders(_ a: TestResponse, _ b: TestResponse, replacing: [String: String]) -> Bool {
        func kept(_ response: TestResponse) -> [String] {
            response.headers.filter { ![.date, .setCookie].contains($0.name) }
                .map { "\($0.name): \($0.value)" }.sorted()
        }
        let normalised = kept(a).map { line in
            replacing.reduce(line) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
        }
        return normalised == kept(b)
    }
}
