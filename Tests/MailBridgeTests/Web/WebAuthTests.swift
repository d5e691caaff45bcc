import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MailBridge
import NIOCore
import TestSupport
import Testing
import ThreadStore

@Suite struct WebAuthTests {
    static func noSecondFactor(_ settings: inout WebAuthSettings) { settings.requireSecondFactor = false }

    /// Nothing secret or personal in the logs or the audit table.
    static func expectNoSecrets(_ harness: WebAuthHarness, _ extra: [String] = []) async throws {
        let needles = ["anna", "Anna", WebAuthHarness.password] + extra
        for line in harness.logs.all {
            for needle in needles { #expect(line.contains(needle) == false, "log line leaks: \(line)") }
        }
        for entry in try await harness.audit() {
            for needle in needles { #expect((entry.itemID ?? "").contains(needle) == false) }
        }
        let database = (try? Data(contentsOf: harness.storeFile)) ?? Data()
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: harness.storeFile.path + "-wal"))) ?? Data()
        #expect(database.range(of: Data(WebAuthHarness.password.utf8)) == nil)
        #expect(wal.range(of: Data(WebAuthHarness.password.utf8)) == nil)
    }

    @Test func loginSetsAStrictSessionCookie() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        let id = try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            let response = try await browser.login()
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/")
            let cookie = try #require(browser.lastSetCookies.first { $0.hasPrefix("__Host-mb_session=") })
            let attributes = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(attributes == ["Path=/", "HttpOnly", "Secure", "SameSite=Strict"])
            #expect(browser.session?.count == 64)
            let probe = try await browser.get("/probe")
            #expect(String(buffer: probe.body) == id.unredactedDescription)
            #expect(try await browser.get("/login").status == .seeOther)
        }
        let audit = try await harness.audit()
        #expect(audit.last?.event == .loginSucceeded && audit.last?.actor == id && audit.last?.channel == .browser)
        try await Self.expectNoSecrets(harness)
    }

    @Test func insecureCookiesOnlyWhenTurnedOff() async throws {
        let harness = try WebAuthHarness { $0.requireSecondFactor = false; $0.secureCookies = false }
        try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client, secure: false)
            try await browser.login()
            #expect(browser.session?.count == 64 && browser.device != nil)
            let cookie = try #require(browser.lastSetCookies.first { $0.hasPrefix("mb_session=") })
            #expect(cookie.contains("Secure") == false && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        }
    }

    @Test func wrongPasswordAndUnknownUserLookTheSame() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        let id = try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            let wrong = try await browser.login(password: "Falsches-Passwort-123")
            let unknown = try await browser.login("bert")
            #expect(wrong.status == .forbidden && unknown.status == .forbidden)
            #expect(browser.session == nil)
            let wrongPage = String(buffer: wrong.body).replacingOccurrences(of: "anna", with: "NAME")
            let unknownPage = String(buffer: unknown.body).replacingOccurrences(of: "bert", with: "NAME")
            #expect(wrongPage == unknownPage)
            #expect(wrongPage.contains("Anmeldung fehlgeschlagen"))
            #expect(wrongPage.contains("aria-describedby=\"form-error\""))
            let probe = try await browser.get("/probe")
            #expect(probe.status == .seeOther && probe.headers[.location] == "/login")
        }
        let failures = try await harness.audit().filter { $0.event == .loginFailed }
        #expect(failures.map(\.actor) == [id, nil])
        #expect(failures.map(\.count) == [LoginFailureReason.badCredentials.rawValue, LoginFailureReason.badCredentials.rawValue])
        try await Self.expectNoSecrets(harness, ["bert", "Falsches-Passwort-123"])
    }

    @Test func fiveFailuresLockTheUserNameAndTheAddress() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        try await harness.createAccount()
        try await harness.createAccount("bert")
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            for _ in 0..<5 { #expect(try await browser.login(password: "Falsches-Passwort-123").status == .forbidden) }
            // Right password, but the name is locked (from another address too).
            let locked = try await browser.post("/login", [("username", "anna"), ("password", WebAuthHarness.password)],
                                                headers: [.init("X-Real-IP")!: "198.51.100.7"])
            #expect(locked.status == .tooManyRequests && browser.session == nil)
            // The address that failed five times is locked for every name.
            #expect(try await browser.login("bert").status == .tooManyRequests)
            harness.clock.advance(15 * 60)
            #expect(try await browser.login().status == .seeOther)
        }
        // Five failures and one lock are audited; the refusals during the lock only logged.
        let reasons = try await harness.audit().filter { $0.event == .loginFailed }.map(\.count)
        #expect(reasons == Array(repeating: LoginFailureReason.badCredentials.rawValue, count: 5)
                + [LoginFailureReason.rateLimited.rawValue])
        #expect(harness.logs.all.filter { $0.contains("refused") }.count == 2)
        try await Self.expectNoSecrets(harness, ["bert"])
    }

    @Test func strangersWhoLockTheNameDoNotLockOutAKnownBrowser() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        try await harness.createAccount()
        let wrong = "Falsches-Passwort-123"
        try await harness.application().test(.router) { client in
            let own = Browser(client)
            #expect(try await own.login().status == .seeOther)
            let device = try #require(own.device)
            let cookie = try #require(own.lastSetCookies.first { $0.hasPrefix("__Host-mb_device=") })
            let attributes = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(attributes == ["Path=/", "Max-Age=15552000", "HttpOnly", "Secure", "SameSite=Strict"])
            // Strangers at five addresses fail on purpose: the name is locked for browsers without a device cookie.
            for index in 0..<5 {
                let response = try await Browser(client).post(
                    "/login", [("username", "anna"), ("password", wrong)],
                    headers: [.init("X-Real-IP")!: "198.51.100.\(index)"])
                #expect(response.status == .forbidden)
            }
            #expect(try await Browser(client).login().status == .tooManyRequests)
            // A forged or altered device cookie is a stranger's.
            let forged = Browser(client)
            forged.device = String(device.dropLast()) + (device.hasSuffix("0") ? "1" : "0")
            #expect(try await forged.login().status == .tooManyRequests)
            // The counsellor's own browser still gets in, and its cookie is renewed.
            own.session = nil
            #expect(try await own.login().status == .seeOther && own.session != nil)
            let renewed = try #require(own.device)
            #expect(renewed != device)
            // The known browser's own failures lock only that browser (logged out: a session's POST needs its
            // CSRF token).
            own.session = nil
            for _ in 0..<5 { #expect(try await own.login(password: wrong).status == .forbidden) }
            #expect(try await own.login().status == .tooManyRequests)
            #expect(try await Browser(client).post("/login", [("username", "anna"), ("password", wrong)],
                                                   headers: [.init("X-Real-IP")!: "203.0.113.1"]).status
                    == .tooManyRequests)
            // After 180 days the cookie is a stranger's again (and the name's lock is long over).
            harness.clock.advance(180 * 24 * 3600)
            let old = Browser(client)
            old.device = renewed
            for _ in 0..<5 { #expect(try await old.login(password: wrong).status == .forbidden) }
            // The stale cookie gave no device of its own: the failures counted for the name and the address.
            #expect(try await Browser(client).login().status == .tooManyRequests)
        }
        try await Self.expectNoSecrets(harness, [wrong])
    }

    @Test func anAdministratorsPasswordIsReplacedFirstAndTheChangeEndsOtherSessions() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        let id = try await harness.createAccount(mustChangePassword: true)
        let chosen = "Ein-ganz-neues-Passwort-7"
        let wrong = "Falsches-Passwort-123"
        try await harness.application().test(.router) { client in
            let other = Browser(client)
            #expect(try await other.login().status == .seeOther)
            let browser = Browser(client)
            #expect(try await browser.login().status == .seeOther)
            // Every inbox page leads to the password form first.
            let list = try await browser.get("/threads")
            #expect(list.status == .seeOther && list.headers[.location] == "/account/password")
            // The same session reaches no other route either: not the JSON API, not a POST.
            let api = try await browser.get("/api/probe")
            #expect(api.status == .forbidden && String(buffer: api.body).contains("password_change_required"))
            #expect(try await browser.get("/probe").headers[.location] == "/account/password")
            let form = try await browser.get("/account/password")
            #expect(form.status == .ok && String(buffer: form.body).contains("von der Administration vergeben"))
            let csrf = try #require(Browser.csrf(in: form))
            func change(_ current: String, _ new: String, _ again: String? = nil) async throws -> TestResponse {
                try await browser.post("/account/password", [
                    ("csrf_token", csrf), ("current_password", current), ("new_password", new),
                    ("repeat_password", again ?? new),
                ])
            }
            let mismatch = try await change(WebAuthHarness.password, chosen, chosen + "x")
            #expect(mismatch.status == .badRequest && String(buffer: mismatch.body).contains("stimmen nicht überein"))
            #expect(try await change(WebAuthHarness.password, "kurz").status == .badRequest)
            #expect(try await change(WebAuthHarness.password, WebAuthHarness.password).status == .badRequest)
            let bad = try await change(wrong, chosen)
            #expect(bad.status == .forbidden && String(buffer: bad.body).contains("bisherige Passwort stimmt nicht"))
            #expect(String(buffer: bad.body).contains(wrong) == false)
            // Without the CSRF token the form is refused before any check.
            #expect(try await browser.post("/account/password", [("current_password", WebAuthHarness.password),
                                                                  ("new_password", chosen),
                                                                  ("repeat_password", chosen)]).status
                    == .forbidden)
            let deviceBefore = try #require(browser.device)
            let done = try await change(WebAuthHarness.password, chosen)
            // The change revoked the account's device cookies; this browser got a new one.
            #expect(browser.device != nil && browser.device != deviceBefore)
            #expect(done.status == .seeOther && done.headers[.location] == "/threads?notice=password-changed")
            let inbox = try await browser.get("/threads?notice=password-changed")
            #expect(inbox.status == .ok && String(buffer: inbox.body).contains("Ihr Passwort wurde geändert."))
            // The other session ended; the old password is gone, the new one works.
            #expect(try await browser.get("/api/probe").status == .ok)
            #expect(try await other.get("/probe").status == .seeOther)
            #expect(try await Browser(client).login().status == .forbidden)
            #expect(try await Browser(client).login(password: chosen).status == .seeOther)
            // Wrong current passwords lock the form for this account after five tries.
            for _ in 0..<4 { #expect(try await change(wrong, "Noch-ein-Passwort-2026").status == .forbidden) }
            #expect(try await change(wrong, "Noch-ein-Passwort-2026").status == .forbidden)
            #expect(try await change(chosen, "Noch-ein-Passwort-2026").status == .tooManyRequests)
        }
        let changed = try await harness.audit().filter { $0.event == .passwordChanged }
        #expect(changed.count == 1 && changed.first?.actor == id && changed.first?.channel == .browser)
        let account = try await harness.store.read { tx in try tx.account(id) }
        #expect(account?.mustChangePassword == false)
        try await Self.expectNoSecrets(harness, [chosen, wrong, "Noch-ein-Passwort-2026"])
    }

    @Test func anIPv6NetworkCountsAsOneAddress() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        try await harness.createAccount()
        try await harness.application().test(.router) { client in
            for index in 1...5 {
                let response = try await Browser(client).post(
                    "/login", [("username", "nobody\(index)"), ("password", "Falsches-Passwort-123")],
                    headers: [.init("X-Real-IP")!: "2001:db8:5:6::\(index)"])
                #expect(response.status == .forbidden)
            }
            let sameNetwork = try await Browser(client).post(
                "/login", [("username", "anna"), ("password", WebAuthHarness.password)],
                headers: [.init("X-Real-IP")!: "2001:db8:5:6:ffff::9"])
            #expect(sameNetwork.status == .tooManyRequests)
            let otherNetwork = try await Browser(client).post(
                "/login", [("username", "anna"), ("password", WebAuthHarness.password)],
                headers: [.init("X-Real-IP")!: "2001:db8:5:7::1"])
            #expect(otherNetwork.status == .seeOther)
        }
    }

    @Test func passwordChecksBeyondTheBoundAreRefusedAtOnce() async throws {
        let harness = try WebAuthHarness { $0.requireSecondFactor = false; $0.maximumConcurrentPasswordChecks = 0 }
        try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            let response = try await browser.login()
            #expect(response.status == .serviceUnavailable && response.headers[.retryAfter] == "5")
            #expect(String(buffer: response.body).contains("ausgelastet"))
            #expect(browser.session == nil && browser.device == nil)
        }
        // Not a failed login: nothing audited, nothing counted towards a lock.
        #expect(try await harness.audit().contains { $0.event == .loginFailed } == false)
    }

    @Test func secondFactorIsRequiredAcceptedOnceAndRotatesTheSession() async throws {
        let harness = try WebAuthHarness()
        let secret = TOTPAuthenticator.generateSecret()
        let id = try await harness.createAccount(totpSecret: secret)
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            let first = try await browser.login()
            #expect(first.status == .seeOther && first.headers[.location] == "/login/totp?lang=de")
            let pending = try #require(browser.session)
            // The password alone opens nothing.
            #expect(try await browser.get("/probe").status == .seeOther)
            let page = try await browser.get("/login/totp")
            #expect(page.status == .ok)
            let csrf = try #require(Browser.csrf(in: page))
            let bad = try await browser.post("/login/totp", [("csrf_token", csrf), ("code", "000000")])
            if harness.code(secret) != "000000" { #expect(bad.status == .forbidden) }
            #expect(try await browser.post("/login/totp", [("csrf_token", "x"), ("code", harness.code(secret))]).status
                    == .forbidden)
            let code = harness.code(secret)
            let good = try await browser.post("/login/totp", [("csrf_token", csrf), ("code", code)])
            #expect(good.status == .seeOther && good.headers[.location] == "/")
            let full = try #require(browser.session)
            #expect(full != pending)
            #expect(String(buffer: try await browser.get("/probe").body) == id.unredactedDescription)
            // The pending token is dead.
            let stale = Browser(client)
            stale.session = pending
            #expect(try await stale.get("/probe").status == .seeOther)
            // The same code cannot be used again in a new login (same time step).
            let replay = Browser(client)
            let replayed = try await replay.login(secret: secret, code: code)
            #expect(replayed.status == .forbidden)
            #expect(try await replay.get("/probe").status == .seeOther)
            // The next step's code works.
            harness.clock.advance(30)
            #expect(try await replay.login(secret: secret, code: harness.code(secret)).status == .seeOther)
        }
        let failures = try await harness.audit().filter { $0.event == .loginFailed }
        #expect(failures.contains { $0.count == LoginFailureReason.replayedCode.rawValue && $0.actor == id })
        try await Self.expectNoSecrets(harness, [secret])
    }

    @Test func wrongCodesLockTheAccountUntilAnAdministratorResetsIt() async throws {
        let harness = try WebAuthHarness()
        let secret = TOTPAuthenticator.generateSecret()
        let id = try await harness.createAccount(totpSecret: secret)
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            try await browser.login()
            let csrf = try #require(Browser.csrf(in: try await browser.get("/login/totp")))
            let wrong = harness.code(secret) == "000000" ? "111111" : "000000"
            for _ in 0..<5 {
                #expect(try await browser.post("/login/totp", [("csrf_token", csrf), ("code", wrong)]).status
                        == .forbidden)
            }
            // Even the right code is refused now.
            let locked = try await browser.post("/login/totp", [("csrf_token", csrf), ("code", harness.code(secret))])
            #expect(locked.status == .tooManyRequests)
            // The administrator resets the account (new password, second factor set up again): the lock is gone.
            let hash = try await harness.hasher.hash("Ein-neues-Start-Passwort-1")
            harness.clock.advance(1)
            try await harness.store.write { tx in try tx.resetPassword(of: id, passwordHash: hash, actor: nil) }
            let again = Browser(client)
            let login = try await again.login(password: "Ein-neues-Start-Passwort-1")
            #expect(login.headers[.location] == "/login/totp/enrol?lang=de")
            let enrol = try await again.get("/login/totp/enrol")
            let newSecret = try #require(WebAuthTests.enrolmentSecret(in: enrol))
            let done = try await again.post("/login/totp/enrol", [("csrf_token", Browser.csrf(in: enrol) ?? ""),
                                                                  ("code", harness.code(newSecret))])
            #expect(done.status == .seeOther && done.headers[.location] == "/")
        }
    }

    @Test func accountWithoutSecondFactorEnrolsAtLogin() async throws {
        let harness = try WebAuthHarness()
        let id = try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            let first = try await browser.login()
            #expect(first.headers[.location] == "/login/totp/enrol?lang=de")
            #expect(try await browser.get("/login/totp").headers[.location] == "/login/totp/enrol")
            let page = try await browser.get("/login/totp/enrol?lang=en")
            let html = String(buffer: page.body)
            #expect(html.contains("<html lang=\"en\">") && html.contains("Set up a second factor"))
            let uri = try #require(html.range(of: "otpauth://totp/MailBridge:anna?secret=")).upperBound
            let base32 = String(html[uri...].prefix { $0 != "&" && $0 != "<" })
            let secret = try #require(Self.decodeBase32(base32))
            let shown = html.range(of: "id=\"totp-secret\">")!.upperBound
            #expect(html[shown...].prefix { $0 != "<" }.replacingOccurrences(of: " ", with: "") == base32)
            let csrf = try #require(Browser.csrf(in: page))
            #expect(try await browser.post("/login/totp/enrol", [("csrf_token", csrf), ("code", "12345")]).status
                    == .forbidden)
            let done = try await browser.post("/login/totp/enrol", [("csrf_token", csrf), ("code", harness.code(secret))])
            #expect(done.status == .seeOther && done.headers[.location] == "/")
            #expect(String(buffer: try await browser.get("/probe").body) == id.unredactedDescription)
            let stored = try await harness.store.read { tx in try tx.loginCredentials(username: "anna") }
            #expect(stored?.totpSecret == secret)
        }
        let events = try await harness.audit().map(\.event)
        #expect(events.contains(.secondFactorEnrolled) && events.last == .loginSucceeded)
    }

    @Test func idleAndAbsoluteTimeouts() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let idle = Browser(client)
            try await idle.login()
            harness.clock.advance(29 * 60)
            #expect(try await idle.get("/probe").status == .ok)
            harness.clock.advance(30 * 60)
            let expired = try await idle.get("/probe")
            #expect(expired.status == .seeOther)
            #expect(idle.lastSetCookies.contains { $0.hasPrefix("__Host-mb_session=;") && $0.contains("Max-Age=0") })

            let busy = Browser(client)
            try await busy.login()
            for _ in 0..<35 {  // 35 × 20 min = 11 h 40 min of activity
                harness.clock.advance(20 * 60)
                #expect(try await busy.get("/probe").status == .ok)
            }
            harness.clock.advance(20 * 60)  // 12 h since login
            #expect(try await busy.get("/probe").status == .seeOther)
        }
        let timeouts = try await harness.audit().filter { $0.event == .loggedOut }
        #expect(timeouts.count == 2 && timeouts.allSatisfy { $0.count == LogoutReason.timeout })
    }

    @Test func logoutEndsTheSessionAndNeedsTheCSRFToken() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        let id = try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            try await browser.login()
            let token = try #require(browser.session)
            let csrf = try #require(try await harness.csrfToken(ofSession: token))
            #expect(try await browser.post("/logout", []).status == .forbidden)
            let out = try await browser.post("/logout", [("csrf_token", csrf)])
            #expect(out.status == .seeOther && out.headers[.location] == "/login")
            #expect(browser.session == nil)
            let old = Browser(client)
            old.session = token
            #expect(try await old.get("/probe").status == .seeOther)
        }
        let logout = try await harness.audit().filter { $0.event == .loggedOut }
        #expect(logout.map(\.actor) == [id] && logout.map(\.count) == [LogoutReason.logout])
    }

    @Test func csrfAndOriginChecks() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        let id = try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            try await browser.login()
            let token = try #require(browser.session)
            let csrf = try #require(try await harness.csrfToken(ofSession: token))
            let header = HTTPField.Name("X-CSRF-Token")!
            #expect(try await browser.post("/probe", []).status == .forbidden)
            #expect(try await browser.post("/probe", [("csrf_token", String(csrf.reversed()))]).status == .forbidden)
            #expect(try await browser.post("/probe", [], headers: [header: (csrf.hasPrefix("0") ? "1" : "0") + csrf.dropFirst()]).status == .forbidden)
            let viaForm = try await browser.post("/probe", [("note", "x"), ("csrf_token", csrf)])
            #expect(viaForm.status == .ok && String(buffer: viaForm.body) == id.unredactedDescription)
            #expect(try await browser.send("/probe", method: .delete, headers: [header: csrf], body: nil).status
                    != .forbidden)
            #expect(try await browser.post("/probe", [], headers: [header: csrf, .origin: "http://localhost"]).status
                    == .ok)
            #expect(try await browser.post("/probe", [], headers: [header: csrf, .origin: "https://evil.example"])
                .status == .forbidden)
            #expect(try await browser.post("/probe", [], headers: [header: csrf, .origin: "null"]).status == .forbidden)
            #expect(try await browser.post("/probe", [], headers: [header: csrf, .init("Sec-Fetch-Site")!: "cross-site"])
                .status == .forbidden)
            #expect(try await browser.post("/probe", [], headers: [header: csrf, .init("Sec-Fetch-Site")!: "same-origin"])
                .status == .ok)
            // A cross-site login attempt is refused before the password is looked at.
            let anonymous = Browser(client)
            let crossLogin = try await anonymous.post("/login", [("username", "anna"), ("password", WebAuthHarness.password)],
                                                      headers: [.origin: "https://evil.example"])
            #expect(crossLogin.status == .forbidden && anonymous.session == nil)
        }
    }

    /// Over a real loopback socket: without a trusted proxy header the limit counts the peer address, so a
    /// client cannot dodge it by sending its own `X-Real-IP`; the cookie round trip works through real HTTP.
    @Test func liveServerCountsThePeerAddressNotAClaimedOne() async throws {
        let harness = try WebAuthHarness { $0.requireSecondFactor = false; $0.clientAddressHeader = nil }
        let id = try await harness.createAccount()
        try await harness.application().test(.live) { client in
            let browser = Browser(client)
            for index in 0..<5 {
                let response = try await browser.post(
                    "/login", [("username", "user\(index)"), ("password", "Falsches-Passwort-123")],
                    headers: [.init("X-Real-IP")!: "203.0.113.\(index)"])
                #expect(response.status == .forbidden)
            }
            let locked = try await browser.post(
                "/login", [("username", "anna"), ("password", WebAuthHarness.password)],
                headers: [.init("X-Real-IP")!: "203.0.113.99"])
            #expect(locked.status == .tooManyRequests && browser.session == nil)
            harness.clock.advance(15 * 60)
            #expect(try await browser.login().status == .seeOther)
            #expect(String(buffer: try await browser.get("/probe").body) == id.unredactedDescription)
            // The key the limit used: the socket's peer, not the header.
            #expect(String(buffer: try await browser.get("/peer").body) == "127.0.0.1")
        }
    }

    @Test func configuredOriginsReplaceTheHostCheck() async throws {
        let harness = try WebAuthHarness { $0.requireSecondFactor = false; $0.allowedOrigins = ["https://inbox.example/"] }
        try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            let proxied = try await browser.post(
                "/login", [("username", "anna"), ("password", WebAuthHarness.password)],
                headers: [.origin: "https://inbox.example"])
            #expect(proxied.status == .seeOther && browser.session != nil)
            let host = try await Browser(client).post(
                "/login", [("username", "anna"), ("password", WebAuthHarness.password)],
                headers: [.origin: "http://localhost"])
            #expect(host.status == .forbidden)
        }
    }

    @Test func apiTokens() async throws {
        let harness = try WebAuthHarness()
        let id = try await harness.createAccount()
        let token = try await harness.store.write { tx in try tx.createAPIToken(for: id, label: "platform", actor: nil) }
        try await harness.application().test(.router) { client in
            func get(_ path: String, _ authorization: String?) async throws -> TestResponse {
                var headers = HTTPFields()
                if let authorization { headers[.authorization] = authorization }
                return try await client.execute(uri: path, method: .get, headers: headers, body: nil)
            }
            let ok = try await get("/api/probe", "Bearer \(token.token)")
            #expect(ok.status == .ok && String(buffer: ok.body) == "\(id.unredactedDescription) true")
            let missing = try await get("/api/probe", nil)
            #expect(missing.status == .unauthorized && String(buffer: missing.body) == "{\"error\":\"unauthenticated\"}")
            #expect(missing.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await get("/api/probe", "Bearer mbt_" + String(repeating: "0", count: 64)).status == .unauthorized)
            #expect(try await get("/api/probe", "Basic YW5uYTpwdw==").status == .unauthorized)
            // Tokens count only below /api/.
            #expect(try await get("/probe", "Bearer \(token.token)").status == .seeOther)
            // No CSRF token needed with a bearer token.
            let post = try await client.execute(uri: "/api/probe", method: .post,
                                                headers: [.authorization: "Bearer \(token.token)"], body: nil)
            #expect(post.status == .ok)
            try await harness.store.write { tx in try tx.revokeAPIToken(token.id, actor: nil) }
            #expect(try await get("/api/probe", "Bearer \(token.token)").status == .unauthorized)
        }
        try await Self.expectNoSecrets(harness, [token.token])
    }

    @Test func disabledAccountCannotLogInAndLosesItsSessions() async throws {
        let harness = try WebAuthHarness(configure: Self.noSecondFactor)
        let id = try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            try await browser.login()
            #expect(try await browser.get("/probe").status == .ok)
            try await harness.store.write { tx in try tx.disableAccount(id, actor: nil) }
            #expect(try await browser.get("/probe").status == .seeOther)
            let again = try await browser.login()
            #expect(again.status == .forbidden && String(buffer: again.body).contains("Anmeldung fehlgeschlagen"))
        }
        let last = try await harness.audit().last
        #expect(last?.event == .loginFailed && last?.count == LoginFailureReason.accountDisabled.rawValue)
        try await Self.expectNoSecrets(harness)
    }

    @Test func loginPageIsGermanByDefaultAccessibleAndStrict() async throws {
        let harness = try WebAuthHarness()
        try await harness.application().test(.router) { client in
            let german = try await client.execute(uri: "/login", method: .get, headers: [:], body: nil)
            let html = String(buffer: german.body)
            #expect(german.status == .ok)
            #expect(german.headers[.contentSecurityPolicy]
                    == "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
            #expect(html.contains("<html lang=\"de\">") && html.contains("<label for=\"username\">Benutzername</label>"))
            #expect(html.contains("<label for=\"password\">Passwort</label>") && html.contains("id=\"password\""))
            #expect(html.contains("<script") == false && html.contains("style=") == false)
            #expect(html.contains("aria-describedby") == false)
            let english = try await client.execute(uri: "/login?lang=en", method: .get, headers: [:], body: nil)
            #expect(String(buffer: english.body).contains("<html lang=\"en\">"))
            let accept = try await client.execute(uri: "/login", method: .get, headers: [.acceptLanguage: "en-US,de;q=0.5"],
                                                  body: nil)
            #expect(String(buffer: accept.body).contains("User name"))
            let css = try await client.execute(uri: "/static/auth.css", method: .get, headers: [:], body: nil)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(html.contains("href=\"/static/auth.css\""))
            let home = try await client.execute(uri: "/", method: .get, headers: [:], body: nil)
            #expect(home.status == .seeOther && home.headers[.location] == "/login")
            #expect(home.headers[.contentSecurityPolicy] != nil && home.headers[.xContentTypeOptions] == "nosniff")
            let escaped = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: Browser.form([("username", "<script>x</script>"), ("password", "whatever-long-enough")]))
            #expect(String(buffer: escaped.body).contains("<script>") == false)
            // The anonymous login form is read only up to a few KiB (not the reply form's megabytes).
            let huge = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: Browser.form([("username", "anna"), ("password", String(repeating: "x", count: 8 << 10))]))
            #expect(huge.status == .contentTooLarge)
            #expect(huge.headers[.contentSecurityPolicy] != nil)
            // A junk session cookie is treated like an ended one (no store lookup) and is cleared.
            let junk = try await client.execute(uri: "/threads", method: .get,
                                                headers: [.cookie: "\(WebAuthNames.sessionCookie(secure: true))=not-a-token"], body: nil)
            #expect(junk.status == .seeOther && junk.headers[.location] == "/login")
        }
    }

    /// The TOTP secret shown on an enrolment page (from its otpauth link).
    static func enrolmentSecret(in response: TestResponse) -> String? {
        let html = String(buffer: response.body)
        guard let uri = html.range(of: "?secret=")?.upperBound else { return nil }
        return decodeBase32(String(html[uri...].prefix { $0 != "&" && $0 != "<" }))
    }

    static func decodeBase32(_ text: String) -> String? {
        let alphabet: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var buffer: UInt32 = 0
        var bits = 0
        var bytes: [UInt8] = []
        for character in text {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return String(bytes: bytes, encoding: .utf8)
    }
}
