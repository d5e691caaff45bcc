import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ThreadStore

@testable import MailBridge

/// Pages before login (issue 22): the browser's language (`Accept-Language` with weights) until the account is
/// known, the account's after the password step; the organisation's name from `[web] organisation-name`. The
/// password page states its rules before the fields and styles its errors as the login forms do.
@Suite struct LoginLanguageTests {
    @Test(arguments: [
        ("en-GB,en;q=0.9,de;q=0.8", InterfaceLanguage.english), ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7", .english),
        ("fr, de;q=0.5, en;q=0.4", .german), ("en;q=0, de", .german), ("en;q=0.2, de;q=0.9", .german),
        ("EN-us", .english), ("fr, it", nil), ("", nil), ("en;q=2, de;q=0.1", .german),
    ])
    func acceptLanguagePicksTheBestOfTheTwo(header: String, expected: InterfaceLanguage?) {
        #expect(AcceptLanguage.preferred(header) == expected)
    }

    @Test func loginPagesFollowTheBrowserThenTheAccountAndNameTheOrganisation() async throws {
        let harness = try WebAuthHarness { $0.organisationName = "Beratungsstelle <Musterstadt>" }
        let hash = try await PasswordHasher(cost: 4).hash(WebAuthHarness.password)
        try await harness.store.write { tx in
            _ = try tx.createAccount(
                NewAccount(username: "sam", displayName: "Sam", role: .counsellor, language: .english,
                           fields: [try CounsellingField("sucht")], passwordHash: hash), actor: nil)
        }
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            var english: HTTPFields = [:]
            english[.acceptLanguage] = "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7"
            let login = String(buffer: try await browser.get("/login", headers: english).body)
            #expect(login.contains("<html lang=\"en\">") && login.contains("<h1>Log in</h1>"))
            #expect(login.contains("<p class=\"organisation\">Beratungsstelle &lt;Musterstadt&gt;</p>"))
            #expect(login.contains("<title>Log in – Beratungsstelle &lt;Musterstadt&gt;</title>"))
            var german: HTTPFields = [:]
            german[.acceptLanguage] = "de-DE,de;q=0.9"
            let germanLogin = String(buffer: try await browser.get("/login", headers: german).body)
            #expect(germanLogin.contains("<html lang=\"de\">"))

            // A German browser logs in to an English account: from the password step on, English.
            let step = try await browser.post("/login?lang=de", [("username", "sam"),
                                                                 ("password", WebAuthHarness.password)],
                                              headers: german)
            #expect(step.headers[.location] == "/login/totp/enrol?lang=en")
            let enrol = String(buffer: try await browser.get("/login/totp/enrol", headers: german).body)
            #expect(enrol.contains("<html lang=\"en\">") && enrol.contains("Set up a second factor"))
            #expect(enrol.contains("<p class=\"organisation\">Beratungsstelle &lt;Musterstadt&gt;</p>"))
            // The language link still wins.
            let chosen = String(buffer: try await browser.get("/login/totp/enrol?lang=de", headers: german).body)
            #expect(chosen.contains("<html lang=\"de\">"))
        }
    }

    @Test func thePasswordPageStatesItsRulesFirstAndStylesErrorsAsTheLoginForms() async throws {
        let harness = try WebAuthHarness(configure: WebAuthTests.noSecondFactor)
        _ = try await harness.createAccount(mustChangePassword: true)
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            try await browser.login()
            let form = try await browser.get("/account/password")
            let html = String(buffer: form.body)
            let rules = try #require(html.range(of: "<ul id=\"password-rules\""))
            let firstField = try #require(html.range(of: "<input id=\"current\""))
            #expect(rules.lowerBound < firstField.lowerBound, "the rules come before the fields")
            #expect(html.contains("<li>hat mindestens 12 Zeichen") && html.contains("<li>hat höchstens 72 Bytes"))
            #expect(html.contains("<div class=\"auth-card\">") && html.contains("class=\"auth-form\""))
            #expect(html.contains("type=\"password\" autocomplete=\"new-password\" required minlength=\"12\" "
                                  + "maxlength=\"200\" aria-describedby=\"password-rules\">"))
            let csrf = try #require(Browser.csrf(in: form))
            let short = try await browser.post("/account/password", [
                ("csrf_token", csrf), ("current_password", WebAuthHarness.password), ("new_password", "kurz"),
                ("repeat_password", "kurz"),
            ])
            let refused = String(buffer: short.body)
            #expect(short.status == .badRequest)
            #expect(refused.contains("<p id=\"form-error\" class=\"form-error\" role=\"alert\">"
                                     + "Das neue Passwort braucht mindestens 12 Zeichen.</p>"))
            #expect(refused.contains("aria-describedby=\"form-error password-rules\" aria-invalid=\"true\""))
            #expect(refused.contains("<ul id=\"password-rules\""))
            // The stylesheet gives errors the login pages' colour and weight.
            let css = String(buffer: try await browser.get(InboxStylesheet.path).body)
            #expect(css.contains(".form-error, [role=\"alert\"] { color: #a51d2d; font-weight: 600; }"))
            #expect(LoginPages.stylesheet.contains("[role=\"alert\"] { color: #a51d2d; font-weight: 600; }"))
        }
    }
}
