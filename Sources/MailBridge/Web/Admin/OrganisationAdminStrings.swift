// Security: fixed texts of the organisation administrator's pages. None takes a value from a request.

import ThreadStore

extension InboxStrings {
    private func text(_ de: String, _ en: String) -> String { language == .german ? de : en }

    var adminNavigation: String { text("Verwaltung", "Administration") }
    var adminAuditHeading: String { text("Protokoll Ihrer Organisation", "Your organisation's audit log") }
    var adminAuditIntro: String {
        text("Wer wann was getan hat: an Anfragen Ihrer Beratungsfelder und an den Konten Ihrer Organisation, auch "
                + "durch die Betreiber der Installation (Kommandozeile). Nur Codes, Kennungen und Anzahlen, keine Inhalte.",
             "Who did what and when: to threads of your counselling fields and to your organisation's accounts, also "
                + "by the installation's operators (command line). Codes, IDs and counts only, no content.")
    }
    var adminWhen: String { text("Zeit", "Time") }
    var adminEvent: String { text("Ereignis", "Event") }
    var adminActor: String { text("Konto", "Account") }
    var adminChannel: String { text("Weg", "Channel") }
    var adminThread: String { text("Anfrage", "Thread") }
    var adminItem: String { text("Betrifft", "Item") }
    var adminCount: String { text("Anzahl/Code", "Count/code") }
    var adminOlder: String { text("Ältere Einträge", "Older entries") }
    var adminInstallation: String { text("Installation", "installation") }
    var adminOtherAccount: String { text("anderes Konto", "another account") }
    var adminHeading: String { text("Konten Ihrer Organisation", "Your organisation's accounts") }
    var adminUsername: String { text("Anmeldename", "User name") }
    var adminDisplayName: String { text("Angezeigter Name", "Display name") }
    var adminLanguage: String { text("Sprache", "Language") }
    var adminRole: String { text("Rolle", "Role") }
    var adminFields: String { text("Beratungsfelder", "Counselling fields") }
    var adminState: String { text("Zustand", "State") }
    var adminCounsellor: String { text("Beratung (eigene Felder)", "Counsellor (own fields)") }
    var adminTeamLead: String { text("Teamleitung (alle Felder)", "Team lead (every field)") }
    var adminAdministers: String { text("verwaltet die Konten", "administers the accounts") }
    var adminAdministrator: String { text("Verwaltung", "administrator") }
    var adminDutiesNote: String {
        text("Die Verwaltung allein öffnet keine Anfrage: Inhalte sieht nur, wer Teamleitung ist oder Beratungsfelder "
                + "hat. Eine Beratung ohne Felder braucht das Verwaltungsrecht.",
             "Administration alone opens no thread: only a team lead or an account with counselling fields sees "
                + "content. A counsellor without fields needs the administrator's right.")
    }
    var adminNewAccount: String { text("Neues Konto", "New account") }
    var adminCreate: String { text("Konto anlegen", "Create account") }
    var adminCreateNote: String {
        text("Das Anfangspasswort wird einmal angezeigt; es muss bei der ersten Anmeldung ersetzt werden.",
             "The initial password is shown once; it must be replaced at the first login.")
    }
    var adminSave: String { text("Speichern", "Save") }
    var adminBack: String { text("Zurück zu den Konten", "Back to the accounts") }
    var adminContinue: String { text("Weiter", "Continue") }
    var adminActive: String { text("aktiv", "active") }
    var adminDisabled: String { text("gesperrt", "disabled") }
    var adminSecondFactor: String { text("zweiter Faktor eingerichtet", "second factor enrolled") }
    var adminNoSecondFactor: String { text("kein zweiter Faktor", "no second factor") }
    var adminPasswordPending: String { text("Passwortwechsel ausstehend", "password change pending") }
    var adminEnable: String { text("Entsperren", "Enable") }
    var adminDisable: String { text("Sperren", "Disable") }
    var adminReset: String {
        text("Passwort zurücksetzen (beendet Sitzungen, Tokens und zweiten Faktor)",
             "Reset password (ends sessions, tokens and second factor)")
    }
    var adminDelete: String { text("Konto löschen", "Delete account") }
    var adminDeleteConfirm: String { text("endgültig", "for good") }
    var adminTokens: String { text("API-Tokens", "API tokens") }
    var adminTokenLabel: String { text("Bezeichnung", "Label") }
    var adminCreated: String { text("Angelegt", "Created") }
    var adminRevoke: String { text("Widerrufen", "Revoke") }
    var adminRevoked: String { text("widerrufen", "revoked") }
    var adminTokenCreate: String { text("Token anlegen", "Create token") }
    var adminInitialPassword: String { text("Anfangspasswort", "Initial password") }
    var adminPasswordNote: String {
        text("Geben Sie es der Person auf sicherem Weg. Es wird nicht noch einmal angezeigt und muss bei der ersten "
                + "Anmeldung ersetzt werden.",
             "Give it to the person by a safe way. It is not shown again and must be replaced at the first login.")
    }
    var adminNewToken: String { text("Neues API-Token", "New API token") }
    var adminTokenNote: String {
        text("Es wird nicht noch einmal angezeigt. Das Token handelt als dieses Konto.",
             "It is not shown again. The token acts as this account.")
    }
    var adminFormInvalid: String {
        text("Die Angaben sind unvollständig oder ungültig (Anmeldename: bis 64 Zeichen A–Z, a–z, 0–9, . _ @ -; eine "
                + "Beratung braucht ein Feld oder das Verwaltungsrecht).",
             "The form is incomplete or invalid (user name: up to 64 characters A–Z, a–z, 0–9, . _ @ -; a counsellor "
                + "needs a field or the administrator's right).")
    }
    var adminOwnAccount: String {
        text("Das eigene Konto kann hier nicht gesperrt, gelöscht, zurückgesetzt oder aus der Verwaltung genommen "
                + "werden; das tut eine andere Verwaltung.",
             "Your own account cannot be disabled, deleted, reset or lose the administrator's right here; another "
                + "administrator does that.")
    }
    var adminUsernameTaken: String {
        text("Diesen Anmeldenamen gibt es schon (Groß- und Kleinschreibung zählen nicht).",
             "This user name exists already (case is ignored).")
    }
    var adminTokenBeyondReach: String {
        text("Ein Token handelt als sein Konto: Sie können es nur für Konten anlegen, die keine Anfragen über Ihre "
                + "eigenen hinaus sehen.",
             "A token acts as its account: you can make one only for accounts that see no threads beyond your own.")
    }
    func adminDone(_ done: OrganisationAdminPages.Done) -> String {
        switch done {
        case .role: text("Rolle und Felder gespeichert.", "Role and fields saved.")
        case .disabled: text("Konto gesperrt; seine Sitzungen sind beendet.", "Account disabled; its sessions ended.")
        case .enabled: text("Konto entsperrt.", "Account enabled.")
        case .revoked: text("Token widerrufen.", "Token revoked.")
        case .deleted: text("Konto gelöscht.", "Account deleted.")
        }
    }
}
