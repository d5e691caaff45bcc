// Security: an account sets where its own notices go. Untrusted input: a urlencoded form (at most 4 KiB) with an
// address and a mode, and the session cookie; needs a browser session with the second factor done and the CSRF
// token (checked by the CSRF middleware before this runs). The address is staff personal data: validated, stored
// sealed by ThreadStore, shown only to the account itself, never logged or echoed in an error.

import Foundation
import Hummingbird
import Logging
import ThreadStore

/// `GET`/`POST /settings/notifications`: the account's own notification address and mode (issue 17).
struct NotificationSettingsRoutes: Sendable {
    let services: WebServices

    static let path = "/settings/notifications"
    static let maximumFormBytes = 4 << 10

    func register(on router: Router<WebRequestContext>) {
        let services = self.services
        router.get(RouterPath(stringLiteral: Self.path)) { request, context in
            guard let chrome = PageChrome(context, timeZone: services.timeZone) else {
                return WebResponses.redirect(WebAuthNames.loginPath)
            }
            let id = chrome.counsellor.id
            let settings = try await services.inbox.notificationSettings(of: id)
            let saved = request.uri.queryParameters.get("saved") == "1"
            return WebResponses.html(InboxPages.notificationSettings(chrome, settings: settings, saved: saved))
        }
        router.post(RouterPath(stringLiteral: Self.path)) { request, context in
            try await save(request, context)
        }
    }

    func save(_ request: Request, _ context: WebRequestContext) async throws -> Response {
        guard let chrome = PageChrome(context, timeZone: services.timeZone) else {
            return WebResponses.redirect(WebAuthNames.loginPath)
        }
        let id = chrome.counsellor.id
        let form = try await LoginRoutes.form(request, limit: Self.maximumFormBytes)
        let text = (form["address"] ?? "").trimmingCharacters(in: .whitespaces)
        guard let mode = NoticeMode(name: form["mode"] ?? NoticeMode.eachMessage.name) else {
            return refused(chrome)
        }
        var address: ClientAddress?
        if !text.isEmpty {
            guard let parsed = try? EmailAddress(text),
                let stored = try? ClientAddress(parsed)
            else { return refused(chrome) }
            address = stored
        }
        let settings = NotificationSettings(address: address, mode: mode)
        try await services.inbox.setNotificationSettings(settings, of: id, actor: id, via: .browser)
        services.logger.info("notification settings", metadata: ["outcome": "saved", "mode": "\(mode)"])
        return WebResponses.redirect(Self.path + "?saved=1")
    }

    private func refused(_ chrome: PageChrome) -> Response {
        WebResponses.html(InboxPages.notificationSettings(chrome, settings: nil, saved: false,
                                                          error: chrome.strings.notificationAddressInvalid),
                          status: .badRequest)
    }
}

extension InboxPages {
    /// The own notification settings form. Shows the account's own address to itself; an error is a fixed text
    /// and the form is then empty (nothing typed is echoed).
    static func notificationSettings(_ chrome: PageChrome, settings: NotificationSettings?, saved: Bool,
                                     error: String? = nil) -> HTML {
        let strings = chrome.strings
        let current = settings?.address?.unredactedDescription ?? ""
        let mode = settings?.mode ?? .eachMessage
        let options = HTML(joining: NoticeMode.allCases.map { value -> HTML in
            "<option value=\"\(value.name)\"\(value == mode ? " selected" : "")>\(strings.noticeMode(value))</option>"
        })
        let described: HTML = error == nil ? "" : " aria-describedby=\"form-error\" aria-invalid=\"true\""
        let errorHTML: HTML = error.map { "<p id=\"form-error\" role=\"alert\">\($0)</p>" } ?? ""
        let savedHTML: HTML = saved ? "<p class=\"notice\" role=\"status\">\(strings.notificationSaved)</p>" : ""
        let main: HTML = """
            <h1>\(strings.notificationHeading)</h1>
            <p>\(strings.notificationIntro)</p>
            \(savedHTML)\(errorHTML)
            <form method="post" action="\(NotificationSettingsRoutes.path)">\(chrome.csrfField)
            <p><label for="notify-address">\(strings.notificationAddress)</label>
            <input id="notify-address" name="address" type="email" autocomplete="email" maxlength="254" \
            value="\(current)"\(described)></p>
            <p><label for="notify-mode">\(strings.notificationMode)</label>
            <select id="notify-mode" name="mode">\(options)</select></p>
            <p><button type="submit">\(strings.notificationSave)</button></p>
            </form>
            """
        return layout(chrome, title: strings.notificationHeading, main: main)
    }
}

extension InboxStrings {
    private func text(_ de: String, _ en: String) -> String { language == .german ? de : en }

    var notificationNavigation: String { text("Benachrichtigungen", "Notifications") }
    var notificationHeading: String { text("Benachrichtigungen", "Notifications") }
    var notificationIntro: String {
        text("Neue Nachrichten in Anfragen, die Ihnen zugewiesen sind, melden wir an diese Adresse – ohne Inhalte, "
                + "Namen oder Betreff, nur mit einem Link in den Posteingang. Ohne Adresse geht die Meldung an die "
                + "Team-Adresse des Beratungsfelds.",
             "New messages in threads assigned to you are announced to this address – without content, names or "
                + "subjects, only with a link into the inbox. Without an address the notice goes to the field's team "
                + "address.")
    }
    var notificationAddress: String {
        text("Ihre Benachrichtigungsadresse (leer: keine)", "Your notification address (empty: none)")
    }
    var notificationMode: String { text("Wie oft", "How often") }
    var notificationSave: String { text("Speichern", "Save") }
    var notificationSaved: String { text("Gespeichert.", "Saved.") }
    var notificationAddressInvalid: String {
        text("Bitte geben Sie eine gültige E-Mail-Adresse an oder lassen Sie das Feld leer.",
             "Please enter a valid e-mail address or leave the field empty.")
    }
    func noticeMode(_ mode: NoticeMode) -> String {
        switch mode {
        case .eachMessage: text("Bei jeder Nachricht", "For each message")
        case .hourly: text("Stündliche Übersicht (nur Anzahlen)", "Hourly summary (counts only)")
        case .daily: text("Tägliche Übersicht (nur Anzahlen)", "Daily summary (counts only)")
        }
    }
}
