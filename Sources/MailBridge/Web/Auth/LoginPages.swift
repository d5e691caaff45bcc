// Security: server-rendered login, second-step and enrolment pages. Every interpolated value is HTML-escaped;
// there is no script and no inline style (the CSP forbids both). Error texts are generic: they never say whether
// a user name exists. The enrolment page shows the account's own new TOTP secret (that is its purpose).

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ThreadStore

/// The texts of the login pages, German by default (issue 8), English on request.
struct LoginTexts {
    var language: InterfaceLanguage
    /// The counselling service's name (`[web] organisation-name`), shown above each form; nil: none.
    var organisation: String? = nil
    /// The configured organisation of the page's `?organisation=ID` link (issue 29): the login form posts back to
    /// it, so that a form sent back after an error still names that organisation.
    var organisationID: OrganisationID? = nil

    func text(_ german: String, _ english: String) -> String { language == .english ? english : german }

    var loginTitle: String { text("Anmeldung", "Log in") }
    var username: String { text("Benutzername", "User name") }
    var password: String { text("Passwort", "Password") }
    var submitLogin: String { text("Anmelden", "Log in") }
    var loginFailed: String {
        text("Anmeldung fehlgeschlagen. Bitte prüfen Sie Benutzername und Passwort.",
             "Login failed. Please check your user name and password.")
    }
    var locked: String {
        text("Zu viele fehlgeschlagene Versuche. Bitte versuchen Sie es später erneut (nach 15 Minuten, bei "
                + "wiederholten Sperren länger) oder wenden Sie sich an Ihre Teamleitung.",
             "Too many failed attempts. Please try again later (after 15 minutes, longer after repeated locks) "
                + "or ask your team lead.")
    }
    var busy: String {
        text("Der Server ist gerade ausgelastet. Bitte versuchen Sie es in einigen Sekunden erneut.",
             "The server is busy. Please try again in a few seconds.")
    }
    var organisationUnavailable: String {
        text("Das Postfach Ihrer Organisation ist gerade nicht verfügbar: ihr Schlüssel ist nicht geladen. Bitte "
                + "wenden Sie sich an die Administration.",
             "Your organisation's inbox is not available right now: its key is not loaded. Please contact your "
                + "administrator.")
    }
    var totpTitle: String { text("Bestätigungscode", "Verification code") }
    var code: String {
        text("Sechsstelliger Code aus Ihrer Authenticator-App", "Six-digit code from your authenticator app")
    }
    var submitCode: String { text("Bestätigen", "Confirm") }
    var codeFailed: String {
        text("Der Code ist ungültig oder wurde schon verwendet.", "The code is invalid or was already used.")
    }
    var enrolTitle: String { text("Zweiten Faktor einrichten", "Set up a second factor") }
    var enrolIntro: String {
        text("Für Ihr Konto ist ein zweiter Faktor nötig. Tragen Sie diesen Schlüssel in eine Authenticator-App ein "
                + "(TOTP, 30 Sekunden, 6 Stellen) und bestätigen Sie mit dem angezeigten Code.",
             "Your account needs a second factor. Enter this key in an authenticator app (TOTP, 30 seconds, "
                + "6 digits) and confirm with the code it shows.")
    }
    var secretLabel: String { text("Schlüssel", "Key") }
    var uriLabel: String { text("Einrichtungs-Link (otpauth)", "Setup link (otpauth)") }
    var qrIntro: String {
        text("Scannen Sie diesen QR-Code mit der Authenticator-App, oder tippen Sie den Schlüssel unten ein.",
             "Scan this QR code with the authenticator app, or type in the key below.")
    }
    var qrTitle: String {
        text("QR-Code mit dem Einrichtungs-Link für die Authenticator-App",
             "QR code holding the setup link for the authenticator app")
    }
    var lostDeviceTitle: String { text("Gerät verloren oder gewechselt?", "Device lost or replaced?") }
    var lostDevice: String {
        text("Dann kann sich niemand mehr mit diesem zweiten Faktor anmelden, auch Sie nicht. Die Administration "
                + "setzt ihn zurück (mailbridge users reset, auf Bitte Ihrer Teamleitung); bei der nächsten "
                + "Anmeldung richten Sie ihn neu ein. Bewahren Sie den Schlüssel nicht ungeschützt auf (kein "
                + "Foto, keine E-Mail).",
             "Then nobody can log in with this second factor any more, you neither. The administrator resets it "
                + "(mailbridge users reset, when your team lead asks); at your next login you set it up again. Do "
                + "not keep the key unprotected (no photo, no e-mail).")
    }
    var otherLanguage: (code: String, name: String) { language == .english ? ("de", "Deutsch") : ("en", "English") }
}

enum LoginPages {
    /// The login pages' stylesheet (inline styles are forbidden by the CSP).
    static let stylesheetPath = "/static/auth.css"

    static let stylesheet = """
        body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1b1d21; }
        main { max-width: 26rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 0.5rem; }
        label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
        input { width: 100%; box-sizing: border-box; padding: 0.5rem; font-size: 1rem; }
        button { padding: 0.5rem 1.25rem; font-size: 1rem; }
        :focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
        [role="alert"] { color: #a51d2d; font-weight: 600; }
        code { word-break: break-all; font-size: 1.05rem; }
        #totp-secret { word-break: normal; overflow-wrap: anywhere; }
        .organisation { margin: 0 0 0.5rem; color: #4a4f57; font-weight: 600; }
        .qr-code { display: block; max-width: 100%; height: auto; margin: 0.5rem 0; }
        dd { margin-left: 0; margin-bottom: 0.5rem; }
        @media (max-width: 30rem) { main { margin: 0; padding: 1rem; border-radius: 0; } }

        """

    static func stylesheetResponse() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        headers[.cacheControl] = "public, max-age=86400"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: stylesheet)))
    }

    /// The page language (issue 22): `?lang=en|de` (the language link, or the account's language carried from
    /// the password step), else the account's once known, else the browser's (`Accept-Language`), else German.
    static func language(of request: Request, account: Account? = nil) -> InterfaceLanguage {
        if let requested = request.uri.queryParameters.get("lang"),
            let language = InterfaceLanguage(rawValue: requested)
        {
            return language
        }
        if let account { return account.language }
        return AcceptLanguage.preferred(request.headers[.acceptLanguage]) ?? .german
    }

    static func document(_ texts: LoginTexts, title: String, path: String, body: String) -> String {
        let other = texts.otherLanguage
        let organisation = texts.organisation.map { "<p class=\"organisation\">\(HTML.escape($0))</p>\n" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="\(texts.language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <title>\(HTML.escape(title)) – \(HTML.escape(texts.organisation ?? "MailBridge"))</title>
            <link rel="stylesheet" href="\(stylesheetPath)">
            </head>
            <body>
            <main>
            \(organisation)            <h1>\(HTML.escape(title))</h1>
            \(body)
            <p><a href="\(path)?lang=\(other.code)" hreflang="\(other.code)" lang="\(other.code)">\(other.name)</a></p>
            </main>
            </body>
            </html>

            """
    }

    static func errorParagraph(_ message: String?) -> String {
        guard let message else { return "" }
        return "<p id=\"form-error\" role=\"alert\">\(HTML.escape(message))</p>\n"
    }

    static func describedBy(_ message: String?) -> String {
        message == nil ? "" : " aria-describedby=\"form-error\" aria-invalid=\"true\""
    }

    static func login(_ texts: LoginTexts, username: String = "", error: String? = nil) -> String {
        let action = "\(WebAuthNames.loginPath)?lang=\(texts.language.rawValue)"
            + (texts.organisationID.map { "&amp;organisation=\($0.rawValue)" } ?? "")
        return document(texts, title: texts.loginTitle, path: WebAuthNames.loginPath, body: """
            \(errorParagraph(error))<form method="post" action="\(action)">
            <p><label for="username">\(texts.username)</label>
            <input id="username" name="\(WebAuthNames.usernameField)" type="text" autocomplete="username" required \
            maxlength="64" value="\(HTML.escape(username))"\(describedBy(error))></p>
            <p><label for="password">\(texts.password)</label>
            <input id="password" name="\(WebAuthNames.passwordField)" type="password" autocomplete="current-password" \
            required\(describedBy(error))></p>
            <p><button type="submit">\(texts.submitLogin)</button></p>
            </form>
            """)
    }

    static func codeForm(_ texts: LoginTexts, action: String, csrf: String, error: String?) -> String {
        """
        \(errorParagraph(error))<form method="post" action="\(action)?lang=\(texts.language.rawValue)">
        <input type="hidden" name="\(WebAuthNames.csrfField)" value="\(HTML.escape(csrf))">
        <p><label for="code">\(texts.code)</label>
        <input id="code" name="\(WebAuthNames.codeField)" type="text" inputmode="numeric" pattern="[0-9 ]*" \
        autocomplete="one-time-code" required maxlength="8"\(describedBy(error))></p>
        <p><button type="submit">\(texts.submitCode)</button></p>
        </form>
        """
    }

    static func totp(_ texts: LoginTexts, csrf: String, error: String? = nil) -> String {
        document(texts, title: texts.totpTitle, path: WebAuthNames.totpPath,
                 body: codeForm(texts, action: WebAuthNames.totpPath, csrf: csrf, error: error))
    }

    static func enrol(_ texts: LoginTexts, secret: String, uri: String, csrf: String, error: String? = nil) -> String {
        let grouped = stride(from: 0, to: secret.count, by: 4).map { offset -> String in
            let start = secret.index(secret.startIndex, offsetBy: offset)
            let end = secret.index(start, offsetBy: 4, limitedBy: secret.endIndex) ?? secret.endIndex
            return String(secret[start..<end])
        }.joined(separator: " ")
        // Drawn on the server (libqrencode); without it (too long, library failure) the key and link still work.
        let qr = QRCodeSVG.svg(uri, title: texts.qrTitle).map { "<p>\(texts.qrIntro)</p>\n\($0)\n" } ?? ""
        return document(texts, title: texts.enrolTitle, path: WebAuthNames.enrolPath, body: """
            <p>\(texts.enrolIntro)</p>
            \(qr)<dl>
            <dt>\(texts.secretLabel)</dt>
            <dd><code id="totp-secret">\(HTML.escape(grouped))</code></dd>
            <dt>\(texts.uriLabel)</dt>
            <dd><code id="totp-uri">\(HTML.escape(uri))</code></dd>
            </dl>
            \(codeForm(texts, action: WebAuthNames.enrolPath, csrf: csrf, error: error))
            <h2>\(texts.lostDeviceTitle)</h2>
            <p id="lost-device">\(texts.lostDevice)</p>
            """)
    }
}
