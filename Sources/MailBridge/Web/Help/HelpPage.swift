// Security: a public page. It contains only configuration (addresses, fields) and public-key fingerprints, all
// escaped through `HTML`; no script, no form, no cookie, no external resource (the stylesheet is served from the
// same path). The request chooses only the language.

import PGPShim
import ThreadStore

/// The help page (issue 17) in German or English: how to write encrypted mail to each counselling address and
/// how to make sure the reply can reach you.
enum HelpPage {
    /// The page's own stylesheet (the CSP forbids inline styles).
    static let stylesheet = """
        body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1b1d21; line-height: 1.5; }
        main { max-width: 46rem; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff; border-radius: 0.5rem; }
        h1 { font-size: 1.6rem; margin-top: 0; }
        h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d8dbe0; padding-bottom: 0.25rem; }
        h3 { font-size: 1.05rem; margin-bottom: 0.25rem; }
        .mailbox { border: 1px solid #d8dbe0; border-radius: 0.4rem; padding: 0.75rem 1rem; margin: 1rem 0; }
        .fingerprint { font-family: ui-monospace, monospace; font-size: 1.05rem; letter-spacing: 0.02em;
            word-spacing: 0.3em; background: #eef1f5; padding: 0.2rem 0.4rem; border-radius: 0.25rem; }
        .important { background: #fff6dd; border-left: 4px solid #c98a00; padding: 0.5rem 1rem; }
        code { font-family: ui-monospace, monospace; background: #eef1f5; padding: 0 0.2rem; }
        nav.language { text-align: right; }
        a { color: #0b57b0; }
        """

    /// The complete document for `language`. `base` is the page's path (`/help` or `/`), `keys` the prefix of
    /// the key downloads.
    /// `organisation` (issue 29, `?organisation=ID`): only that organisation's addresses, under its name.
    static func render(_ directory: HelpDirectory, language: InterfaceLanguage, base: String, keys: String,
                       organisation: HelpDirectory.Organisation? = nil) -> HTML
    {
        let t = HelpTexts(german: language == .german)
        let other = language == .german ? ("en", "English") : ("de", "Deutsch")
        let query: HTML = organisation.map { "&amp;organisation=\($0.id)" } ?? .empty
        let heading: HTML = organisation.map { "<p class=\"organisation\">\($0.name)</p>\n" } ?? .empty
        let mailboxes = directory.entries(of: organisation).map { entry -> HTML in
            let owner: HTML = organisation == nil
                ? directory.organisations[entry.address.canonical].map { "<p>\(t.organisation): \($0.name)</p>\n" }
                    ?? .empty
                : .empty
            let grouped = HelpDirectory.grouped(entry.fingerprint)
            let file = "\(keys)/\(entry.fingerprint.hex.uppercased()).asc"
            return """
                <section class="mailbox" id="\(entry.address.unredactedDescription)">
                <h3>\(entry.address.unredactedDescription)</h3>
                \(owner)<p>\(t.field): \(entry.field)</p>
                <p>\(t.fingerprint):<br><span class="fingerprint">\(grouped)</span></p>
                <p><a href="\(file)" download>\(t.download)</a> (\(entry.address.unredactedDescription).asc, \
                \(t.armored))</p>
                <p>\(t.commandLine): <code>gpg --locate-keys \(entry.address.unredactedDescription)</code></p>
                </section>

                """
        }
        let receipt: HTML = directory.receiptPeriodHours.map { "<p>\(t.receipt(hours: $0))</p>\n" } ?? .empty
        return """
            <!DOCTYPE html>
            <html lang="\(language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <title>\(t.title)</title>
            <link rel="stylesheet" href="\(base == "/" ? "" : base)/help.css">
            </head>
            <body>
            <main>
            <nav class="language"><a href="\(base)?lang=\(other.0)\(query)" hreflang="\(other.0)" lang="\(other.0)">\
            \(other.1)</a></nav>
            \(heading)<h1>\(t.title)</h1>
            <p>\(t.intro)</p>
            <p>\(t.plainMail)</p>
            <p class="important"><strong>\(t.yourKeyTitle)</strong> \(t.yourKey)</p>
            \(receipt)<h2>\(t.addressesTitle)</h2>
            <p>\(t.addressesIntro)</p>
            \(mailboxes)<h2>\(t.wkdTitle)</h2>
            <p>\(t.wkd)</p>
            <h2>Thunderbird</h2>
            \(list(t.thunderbird))<h2>Outlook (GpgOL, Gpg4win)</h2>
            \(list(t.outlook))<h2>Android (FairEmail + OpenKeychain)</h2>
            \(list(t.android))<h2>\(t.otherTitle)</h2>
            <p>\(t.other)</p>
            </main>
            </body>
            </html>

            """
    }

    private static func list(_ steps: [String]) -> HTML {
        "<ol>\n\(steps.map { step -> HTML in "<li>\(step)</li>\n" })</ol>\n"
    }
}

/// The page's texts. Plain strings (escaped when rendered); menu names as the programs show them.
struct HelpTexts {
    let german: Bool
    private func t(_ de: String, _ en: String) -> String { german ? de : en }

    var organisation: String { t("Organisation", "Organisation") }
    var title: String {
        t("Verschlüsselt an die Online-Beratung schreiben", "Writing encrypted e-mail to the counselling service")
    }
    var intro: String {
        t("Eine gewöhnliche E-Mail kann unterwegs von Dritten gelesen werden. Mit OpenPGP verschlüsselt kann nur die "
            + "Beratung Ihre Nachricht lesen, und nur Sie unsere Antwort.",
          "Ordinary e-mail can be read by others on its way. Encrypted with OpenPGP, only the counselling service can "
            + "read your message, and only you can read our reply.")
    }
    var plainMail: String {
        t("Unverschlüsselte Nachrichten an die Beratungsadressen lesen und speichern wir nicht; Sie erhalten dann "
            + "nur einen Hinweis auf unsere Beratungsplattform.",
          "We neither read nor store unencrypted messages to the counselling addresses; you only get a pointer to "
            + "our counselling platform.")
    }
    var yourKeyTitle: String { t("Damit unsere Antwort Sie erreicht:", "So that our reply can reach you:") }
    var yourKey: String {
        t("Unterschreiben (signieren) Sie Ihre Nachricht mit Ihrem eigenen Schlüssel und hängen Sie Ihren öffentlichen "
            + "Schlüssel an (viele Programme tun das über Autocrypt von selbst). Ihr Schlüssel muss die E-Mail-Adresse "
            + "enthalten, von der Sie schreiben. Ohne Ihren Schlüssel können wir Ihnen nicht verschlüsselt antworten – "
            + "und unverschlüsselt antworten wir nie.",
          "Sign your message with your own key and attach your public key (many programs do this by themselves "
            + "through Autocrypt). Your key must contain the e-mail address you write from. Without your key we "
            + "cannot send you an encrypted reply – and we never reply unencrypted.")
    }
    func receipt(hours: Int) -> String {
        let period = hours == 1 ? t("einer Stunde", "an hour") : t("\(hours) Stunden", "\(hours) hours")
        return t("Kommt Ihre Nachricht verschlüsselt und gültig unterschrieben an, erhalten Sie eine kurze, "
                 + "verschlüsselte Eingangsbestätigung (höchstens eine pro Gespräch innerhalb von \(period)). Sie "
                 + "enthält nichts aus Ihrer Nachricht.",
                 "When your message arrives encrypted and validly signed, you get a short, encrypted confirmation "
                 + "(at most one per conversation within \(period)). It contains nothing from your message.")
    }
    var addressesTitle: String { t("Unsere Adressen und Schlüssel", "Our addresses and keys") }
    var addressesIntro: String {
        t("Vergleichen Sie den Fingerabdruck des Schlüssels, den Ihr Programm gefunden oder importiert hat, Zeichen "
            + "für Zeichen mit dem hier gezeigten. Nur dann ist sicher, dass Sie an uns verschlüsseln.",
          "Compare the fingerprint of the key your program found or imported, character by character, with the one "
            + "shown here. Only then is it certain that you encrypt to us.")
    }
    var field: String { t("Beratungsbereich", "Counselling field") }
    var fingerprint: String { t("Fingerabdruck des Schlüssels", "Key fingerprint") }
    var download: String { t("Öffentlichen Schlüssel herunterladen", "Download the public key") }
    var armored: String { t("OpenPGP-Textformat", "OpenPGP text format") }
    var commandLine: String { t("Auf der Kommandozeile", "On the command line") }
    var wkdTitle: String { t("Schlüssel automatisch finden (WKD)", "Finding the key automatically (WKD)") }
    var wkd: String {
        t("Über das Web Key Directory (WKD) finden Thunderbird, GpgOL, OpenKeychain und gpg unseren Schlüssel "
            + "anhand der E-Mail-Adresse selbst, wenn wir ihn für die Domain der Adresse veröffentlicht haben. Jede "
            + "Antwort von uns trägt den Schlüssel außerdem im Autocrypt-Kopf. Prüfen Sie in jedem Fall den "
            + "Fingerabdruck.",
          "Through the Web Key Directory (WKD), Thunderbird, GpgOL, OpenKeychain and gpg find our key from the "
            + "e-mail address itself, where we have published it for the address's domain. Each of our replies "
            + "also carries the key in its Autocrypt header. Check the fingerprint in any case.")
    }
    var thunderbird: [String] {
        german ? [
            "Konten-Einstellungen → Ende-zu-Ende-Verschlüsselung → „Schlüssel hinzufügen…“: einen neuen "
                + "OpenPGP-Schlüssel für Ihre Adresse erzeugen (oder Ihren vorhandenen importieren).",
            "Unseren Schlüssel holen: Extras → OpenPGP-Schlüssel verwalten → Schlüsselserver → „Schlüssel online "
                + "ermitteln“ mit unserer Adresse (WKD), oder Datei → „Öffentliche(n) Schlüssel aus Datei "
                + "importieren“ mit der heruntergeladenen Datei.",
            "Den Schlüssel öffnen (Schlüsseleigenschaften), den Fingerabdruck mit dieser Seite vergleichen und "
                + "„Ja, ich habe persönlich überprüft, dass dieser Schlüssel den korrekten Fingerabdruck hat“ wählen.",
            "Neue Nachricht an unsere Adresse: im Menü „Sicherheit“ (bzw. „OpenPGP“) „Verschlüsseln“ und "
                + "„Digital unterschreiben“ einschalten, außerdem „Meinen öffentlichen Schlüssel anhängen“.",
            "Betreff: Thunderbird verschlüsselt auch den Betreff, wenn „Betreff verschlüsseln“ eingeschaltet ist.",
        ] : [
            "Account Settings → End-To-End Encryption → “Add Key…”: create a new OpenPGP key for your address (or "
                + "import your existing one).",
            "Get our key: Tools → OpenPGP Key Manager → Keyserver → “Discover Keys Online” with our address (WKD), "
                + "or File → “Import Public Key(s) From File” with the downloaded file.",
            "Open the key (Key Properties), compare the fingerprint with this page and choose “Yes, I’ve verified in "
                + "person this key has the correct fingerprint”.",
            "New message to our address: in the “Security” (or “OpenPGP”) menu switch on “Require Encryption” and "
                + "“Digitally Sign”, and also “Attach My Public Key”.",
            "Subject: Thunderbird encrypts the subject too when “Encrypt subject” is on.",
        ]
    }
    var outlook: [String] {
        german ? [
            "Gpg4win von gpg4win.de installieren (enthält Kleopatra und das Outlook-Add-in GpgOL).",
            "In Kleopatra: Datei → „Neues OpenPGP-Schlüsselpaar…“ mit Ihrem Namen und Ihrer E-Mail-Adresse.",
            "Unseren Schlüssel: in Kleopatra „Importieren…“ mit der heruntergeladenen Datei, oder „Auf Server "
                + "suchen…“ mit unserer Adresse (GpgOL findet ihn auch selbst über WKD). Fingerabdruck unter "
                + "„Details“ mit dieser Seite vergleichen und den Schlüssel „Beglaubigen“.",
            "Ihren öffentlichen Schlüssel in Kleopatra „Exportieren…“ und die .asc-Datei an Ihre erste Nachricht "
                + "anhängen.",
            "In Outlook eine neue Nachricht an unsere Adresse schreiben und in der Registerkarte „GpgOL“ "
                + "„Verschlüsseln“ und „Signieren“ wählen.",
        ] : [
            "Install Gpg4win from gpg4win.org (it includes Kleopatra and the Outlook add-in GpgOL).",
            "In Kleopatra: File → “New OpenPGP Key Pair…” with your name and e-mail address.",
            "Our key: in Kleopatra “Import…” the downloaded file, or “Lookup on Server…” with our address (GpgOL also "
                + "finds it by itself through WKD). Compare the fingerprint under “Details” with this page and "
                + "“Certify” the key.",
            "“Export…” your public key in Kleopatra and attach the .asc file to your first message.",
            "In Outlook write a new message to our address and choose “Encrypt” and “Sign” in the “GpgOL” tab.",
        ]
    }
    var android: [String] {
        german ? [
            "OpenKeychain und FairEmail installieren (F-Droid oder Google Play).",
            "In OpenKeychain „Meinen Schlüssel erstellen“ mit Ihrer E-Mail-Adresse.",
            "Unseren Schlüssel in OpenKeychain über „+“ → „Schlüsselsuche“ mit unserer Adresse finden oder "
                + "„Aus Datei importieren“; den Fingerabdruck mit dieser Seite vergleichen und bestätigen.",
            "In FairEmail: Einstellungen → Verschlüsselung → OpenPGP-Anbieter „OpenKeychain“; „Autocrypt "
                + "verwenden“ eingeschaltet lassen (so wird Ihr öffentlicher Schlüssel mitgeschickt).",
            "Beim Schreiben im Menü „Verschlüsseln“ (PGP) wählen: FairEmail signiert und verschlüsselt dann.",
        ] : [
            "Install OpenKeychain and FairEmail (F-Droid or Google Play).",
            "In OpenKeychain “Create my key” with your e-mail address.",
            "Find our key in OpenKeychain with “+” → “Key search” for our address, or “Import from file”; compare "
                + "the fingerprint with this page and confirm it.",
            "In FairEmail: Settings → Encryption → OpenPGP provider “OpenKeychain”; keep “Use Autocrypt” on (this "
                + "sends your public key along).",
            "When writing, choose “Encrypt” (PGP) in the menu: FairEmail then signs and encrypts.",
        ]
    }
    var otherTitle: String { t("Andere Programme", "Other programs") }
    var other: String {
        t("Jedes Programm mit OpenPGP (PGP/MIME oder Inline-PGP) geht, etwa Mailvelope im Browser oder gpg auf der "
            + "Kommandozeile: verschlüsseln Sie an unseren Schlüssel, unterschreiben Sie mit Ihrem und hängen Sie "
            + "Ihren öffentlichen Schlüssel an.",
          "Any program with OpenPGP (PGP/MIME or inline PGP) works, such as Mailvelope in the browser or gpg on the "
            + "command line: encrypt to our key, sign with yours and attach your public key.")
    }
}
