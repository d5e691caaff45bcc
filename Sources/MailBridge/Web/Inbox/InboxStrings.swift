import ThreadStore

/// The fixed texts of the web inbox, German (default) and English. Nothing here is built from request or mail
/// data; pages insert values through ``HTML`` interpolation.
struct InboxStrings: Sendable {
    let language: InterfaceLanguage

    static func `for`(_ language: InterfaceLanguage) -> InboxStrings { InboxStrings(language: language) }

    private var german: Bool { language == .german }
    private func t(_ de: String, _ en: String) -> String { german ? de : en }

    var appName: String { t("MailBridge – Beratungspostfach", "MailBridge – counselling inbox") }
    var skipToContent: String { t("Zum Inhalt springen", "Skip to content") }
    var mainNavigation: String { t("Hauptnavigation", "Main navigation") }
    var inbox: String { t("Posteingang", "Inbox") }
    var loggedInAs: String { t("Angemeldet als", "Logged in as") }
    var logout: String { t("Abmelden", "Log out") }

    // List
    var threadsHeading: String { t("Anfragen", "Threads") }
    var filterLabel: String { t("Status", "State") }
    var filterAll: String { t("Alle", "All") }
    var filterApply: String { t("Anzeigen", "Show") }
    var threadColumn: String { t("Anfrage", "Thread") }
    var fieldColumn: String { t("Beratungsfeld", "Field") }
    var stateColumn: String { t("Status", "State") }
    var unreadColumn: String { t("Ungelesen", "Unread") }
    var messagesColumn: String { t("Nachrichten", "Messages") }
    var lastActivityColumn: String { t("Letzte Aktivität", "Last activity") }
    var assigneeColumn: String { t("Zugewiesen an", "Assigned to") }
    var nobody: String { t("niemand", "nobody") }
    var noThreads: String { t("Keine Anfragen.", "No threads.") }
    var nextPage: String { t("Ältere Anfragen", "Older threads") }
    var assignmentFilterLabel: String { t("Zuweisung", "Assignment") }
    var filterAssignedToMe: String { t("Mir zugewiesen", "Assigned to me") }
    var filterUnassigned: String { t("Nicht zugewiesen", "Unassigned") }
    var listCaption: String {
        t("Anfragen Ihrer Beratungsfelder, in der oben gewählten Sortierung. Betreff und Absender werden erst in "
            + "der Anfrage entschlüsselt.",
          "Threads of your counselling fields, in the order chosen above. Subject and sender are decrypted only "
            + "inside the thread.")
    }

    func state(_ state: InboxState) -> String {
        switch state {
        case .new: t("neu", "new")
        case .open: t("offen", "open")
        case .awaitingClient: t("wartet auf Klient*in", "waiting for client")
        case .closed: t("geschlossen", "closed")
        }
    }

    // Thread view
    var threadHeading: String { t("Anfrage", "Thread") }
    var backToList: String { t("Zurück zur Liste", "Back to the list") }
    var detailsHeading: String { t("Angaben", "Details") }
    var clientKey: String { t("Schlüssel der Klient*in", "Client key") }
    var created: String { t("Begonnen", "Started") }
    var messagesHeading: String { t("Nachrichten (älteste zuerst)", "Messages (oldest first)") }
    var fromClient: String { t("Von der Klient*in", "From the client") }
    var fromCounsellor: String { t("Antwort der Beratung", "Reply from the counselling service") }
    var received: String { t("Eingegangen", "Received") }
    var subject: String { t("Betreff", "Subject") }
    /// Beside the subject of a signed message whose subject came from the outer header, which no signature covers.
    var subjectNotSigned: String {
        t("Betreff nicht signiert: kann unterwegs geändert worden sein",
          "subject not signed: may have been changed on the way")
    }
    var signature: String { t("Signatur", "Signature") }
    var unreadMarker: String { t("neu", "new") }
    var attachments: String { t("Anhänge", "Attachments") }
    var download: String { t("herunterladen", "download") }
    var bytes: String { t("Bytes", "bytes") }
    var forwardedMessage: String { t("Weitergeleitete Nachricht", "Forwarded message") }
    var forwardedFrom: String { t("Von", "From") }
    var forwardedDate: String { t("Datum", "Date") }
    var withheldPart: String {
        t("Dieser Teil (z. B. HTML) wird aus Sicherheitsgründen nicht angezeigt.",
          "This part (e.g. HTML) is not displayed for security reasons.")
    }
    var emptyBody: String { t("(kein Text)", "(no text)") }
    var messagePagesNavigation: String { t("Seiten der Nachrichten", "Message pages") }
    var newestMessages: String { t("Neueste Nachrichten", "Newest messages") }
    var noMessagesOnPage: String {
        t("Auf dieser Seite gibt es keine Nachrichten.", "There are no messages on this page.")
    }
    func messageRange(from: Int, to: Int, of total: Int) -> String {
        t("Nachrichten \(from)–\(to) von \(total)", "Messages \(from)–\(to) of \(total)")
    }
    func earlierMessages(_ count: Int, unread: Int) -> String {
        unread > 0
            ? t("Frühere Nachrichten (\(count), davon \(unread) neu)", "Earlier messages (\(count), \(unread) new)")
            : t("Frühere Nachrichten (\(count))", "Earlier messages (\(count))")
    }
    func laterMessages(_ count: Int, unread: Int) -> String {
        unread > 0
            ? t("Spätere Nachrichten (\(count), davon \(unread) neu)", "Later messages (\(count), \(unread) new)")
            : t("Spätere Nachrichten (\(count))", "Later messages (\(count))")
    }

    /// The verdict in a few words, shown in the message header (page chrome); only `valid` reads as good.
    func verdict(_ code: SignatureVerdictCode) -> String {
        switch code {
        case .valid: t("gültig – von der Klient*in dieser Anfrage", "valid – written by this thread's client")
        case .unsigned: t("nicht signiert", "not signed")
        case .bad:
            t("UNGÜLTIG – der Inhalt wurde möglicherweise verändert", "INVALID – the content may have been altered")
        case .missingKey: t("nicht prüfbar – Schlüssel unbekannt", "cannot be checked – unknown key")
        case .validButUntrusted:
            t("NICHT bestätigt – anderer Schlüssel als der dieser Anfrage", "NOT confirmed – not this thread's key")
        case .notApplicable: t("–", "–")
        case .signerAddressMismatch:
            t("NICHT gültig – Schlüssel passt nicht zur Absenderadresse",
              "NOT valid – the key does not match the sender address")
        case .unconfirmedKeyChange:
            t("NOCH NICHT bestätigt – neuer Schlüssel für diese Adresse",
              "NOT YET confirmed – new key for this address")
        case .notForThisRecipient:
            t("NICHT gültig – für einen anderen Empfänger signiert", "NOT valid – signed for another recipient")
        case .oldSignature: t("NICHT gültig – alte Signatur", "NOT valid – old signature")
        case .keyNotCurrent:
            t("NICHT gültig – Schlüssel abgelaufen oder widerrufen", "NOT valid – key expired or revoked")
        }
    }

    /// What the verdict means and what to do, under the verdict; nil where there is nothing to do.
    /// `keyChangeConfirmed`: the thread's key change was confirmed (after this message arrived, as it is stored
    /// with `unconfirmedKeyChange`).
    func verdictAdvice(_ code: SignatureVerdictCode, keyChangeConfirmed: Bool) -> String? {
        switch code {
        case .valid, .notApplicable: nil
        case .unsigned:
            t("Die Nachricht kam verschlüsselt, aber ohne Signatur: Es ist nicht nachgewiesen, wer sie geschrieben "
                + "hat.",
              "The message came encrypted but not signed: it is not proven who wrote it.")
        case .bad:
            t("Verlassen Sie sich nicht auf den Inhalt, antworten Sie nichts Vertrauliches und informieren Sie die "
                + "Administration.",
              "Do not rely on the content, do not reply with anything confidential, and tell the administrator.")
        case .missingKey:
            t("Es ist nicht nachgewiesen, wer die Nachricht geschrieben hat.",
              "It is not proven who wrote the message.")
        case .validButUntrusted:
            t("Vergleichen Sie den Fingerabdruck bei „Signiert von“ mit dem Schlüssel der Klient*in unter „Angaben“, "
                + "bevor Sie auf Vertrauliches eingehen.",
              "Compare the fingerprint under “Signed by” with the client key under “Details” before you discuss "
                + "anything confidential.")
        case .signerAddressMismatch:
            t("Jemand gibt sich vielleicht als die Klient*in aus. Antworten Sie nichts Vertrauliches, bevor Sie das "
                + "auf einem anderen Weg geklärt haben.",
              "Someone may be posing as the client. Do not reply with anything confidential until you have checked "
                + "by other means.")
        case .unconfirmedKeyChange:
            keyChangeConfirmed
                ? t("Der Schlüsselwechsel wurde inzwischen bestätigt; diese Nachricht kam davor an.",
                    "The key change has since been confirmed; this message arrived before that.")
                : t("Diese Adresse schrieb bisher mit einem anderen Schlüssel. Prüfen Sie den neuen Schlüssel auf "
                    + "einem anderen Weg (z. B. am Telefon) und bestätigen Sie ihn dann im Kasten "
                    + "„Schlüsselwechsel“ oben auf dieser Seite.",
                    "This address wrote with another key before. Check the new key by other means (for example by "
                    + "phone), then confirm it in the “Key change” box at the top of this page.")
        case .notForThisRecipient:
            t("Die Nachricht war an jemand anderen gerichtet und wurde weitergeleitet. Behandeln Sie sie nicht als "
                + "Nachricht der Klient*in an Sie.",
              "The message was written to someone else and forwarded. Do not treat it as the client's message to "
                + "you.")
        case .oldSignature:
            t("Möglicherweise wurde eine alte Nachricht erneut geschickt. Fragen Sie bei der Klient*in nach, bevor "
                + "Sie darauf eingehen.",
              "An old message may have been sent again. Ask the client before you act on it.")
        case .keyNotCurrent:
            t("Ein widerrufener Schlüssel kann in fremde Hände geraten sein. Bitten Sie die Klient*in um einen "
                + "aktuellen Schlüssel.",
              "A revoked key may be in someone else's hands. Ask the client for a current key.")
        }
    }

    var signedBy: String { t("Signiert von", "Signed by") }
    var signerIsThreadKey: String { t("Schlüssel dieser Anfrage", "this thread's key") }
    var signerIsOtherKey: String { t("NICHT der Schlüssel dieser Anfrage", "NOT this thread's key") }

    // Actions
    var actionsHeading: String { t("Bearbeiten", "Actions") }
    var assignToMe: String { t("Mir zuweisen", "Assign to me") }
    var unassign: String { t("Zuweisung aufheben", "Unassign") }
    var assignTo: String { t("Zuweisen an", "Assign to") }
    var assign: String { t("Zuweisen", "Assign") }
    var close: String { t("Schließen", "Close") }
    var reopen: String { t("Wieder öffnen", "Reopen") }
    var delete: String { t("Löschen …", "Delete …") }
    var replyHeading: String { t("Antworten", "Reply") }
    var replyLabel: String { t("Ihre Antwort (wird verschlüsselt gesendet)", "Your reply (sent encrypted)") }
    var replySend: String { t("Antwort senden", "Send reply") }
    var replyHint: String {
        t("Die Nachricht der Klient*in wird nicht zitiert.", "The client's message is not quoted.")
    }

    // Key change
    var keyChangeHeading: String { t("Schlüsselwechsel", "Key change") }
    var keyChangeWarning: String {
        t("Von derselben Adresse gibt es in diesem Beratungsfeld eine frühere Anfrage mit einem anderen "
            + "Schlüssel. Entweder hat die Klient*in einen neuen Schlüssel, oder jemand anderes benutzt die Adresse. "
            + "Prüfen Sie den Schlüssel auf einem anderen Weg, bevor Sie Inhalte der früheren Anfrage aufgreifen.",
          "An earlier thread in this field came from the same address with another key. Either the client has a "
            + "new key, or someone else uses the address. Check the key by other means before you refer to the "
            + "earlier thread.")
    }
    var keyChangeLater: String {
        t("Von derselben Adresse gibt es eine spätere Anfrage mit einem anderen Schlüssel:",
          "A later thread came from the same address with another key:")
    }
    var keyChangeEarlier: String { t("Frühere Anfrage:", "Earlier thread:") }
    var keyChangeConfirm: String {
        t("Ich habe geprüft: dieselbe Klient*in, neuer Schlüssel", "I checked: same client, new key")
    }
    var keyChangeConfirmed: String { t("Schlüsselwechsel bestätigt am", "Key change confirmed on") }
    var noAccessToThread: String { t("(kein Zugriff)", "(no access)") }

    // Delete
    var deleteHeading: String { t("Anfrage endgültig löschen", "Delete thread for good") }
    var deleteExplanation: String {
        t("Alle Nachrichten, Anhänge und wartenden Antworten dieser Anfrage werden unwiderruflich vernichtet "
            + "(der Schlüssel der Anfrage wird gelöscht). Das Audit-Protokoll vermerkt nur, dass gelöscht wurde.",
          "All messages, attachments and queued replies of this thread are destroyed irreversibly (the thread's "
            + "key is deleted). The audit log records only that it was deleted.")
    }
    var deleteConfirm: String { t("Ja, endgültig löschen", "Yes, delete for good") }
    var cancel: String { t("Abbrechen", "Cancel") }
    var onlyTeamLeads: String {
        t("Das dürfen nur Teamleitungen (Löschen, Zuweisen an andere).",
          "Only team leads may do this (delete, assign to others).")
    }

    // Notices (after a POST, shown by the page chrome)
    func notice(_ notice: InboxNotice) -> String {
        switch notice {
        case .replyQueued: t("Die Antwort wurde verschlüsselt in den Versand gegeben.",
                             "The reply was encrypted and queued for sending.")
        case .replyKeyUnusable(let problem):
            t("Der Schlüssel der Klient*in ist nicht nutzbar (\(keyProblem(problem))). Die Antwort wird "
                + "zurückgehalten, bis ein nutzbarer Schlüssel da ist; an die Klient*in ging nur der Hinweis, dass "
                + "eine Antwort wartet und wie sie einen aktuellen Schlüssel sendet.",
              "The client's key cannot be used (\(keyProblem(problem))). The reply is held until a usable key "
                + "arrives; only the notice that a reply is waiting and how to send a current key was sent to "
                + "the client.")
        case .stateChanged: t("Der Status wurde geändert.", "The state was changed.")
        case .assigned: t("Die Anfrage ist Ihnen zugewiesen.", "The thread is assigned to you.")
        case .unassigned: t("Die Zuweisung wurde aufgehoben.", "The thread was unassigned.")
        case .reassigned: t("Die Zuweisung wurde geändert.", "The assignment was changed.")
        case .keyChangeConfirmed: t("Der Schlüsselwechsel wurde bestätigt.", "The key change was confirmed.")
        case .deleted: t("Die Anfrage wurde endgültig gelöscht.", "The thread was deleted for good.")
        case .passwordChanged: t("Ihr Passwort wurde geändert.", "Your password was changed.")
        }
    }

    func keyProblem(_ problem: ReplyOutcome.KeyProblem) -> String {
        switch problem {
        case .missing: t("fehlt", "missing")
        case .expired: t("abgelaufen", "expired")
        case .revoked: t("widerrufen", "revoked")
        case .unusable: t("unbrauchbar", "unusable")
        }
    }

    // Own password
    var passwordNavigation: String { t("Passwort ändern", "Change password") }
    var passwordHeading: String { t("Passwort ändern", "Change password") }
    var passwordForcedIntro: String {
        t("Ihr Passwort wurde von der Administration vergeben. Bitte wählen Sie jetzt ein eigenes Passwort; erst "
            + "danach ist der Posteingang zugänglich.",
          "Your password was set by the administration. Please choose your own password now; the inbox opens "
            + "after that.")
    }
    var passwordIntro: String {
        t("Mindestens 12 Zeichen. Ihre anderen Sitzungen werden danach beendet.",
          "At least 12 characters. Your other sessions end afterwards.")
    }
    var currentPassword: String { t("Bisheriges Passwort", "Current password") }
    var newPassword: String { t("Neues Passwort", "New password") }
    var repeatPassword: String { t("Neues Passwort wiederholen", "Repeat the new password") }
    var savePassword: String { t("Passwort speichern", "Save password") }
    var currentPasswordWrong: String { t("Das bisherige Passwort stimmt nicht.", "The current password is wrong.") }
    var passwordsDiffer: String {
        t("Die beiden neuen Passwörter stimmen nicht überein.", "The two new passwords differ.")
    }
    var passwordUnchanged: String {
        t("Das neue Passwort muss sich vom bisherigen unterscheiden.", "The new password must differ from the old one.")
    }
    var passwordTooShort: String {
        t("Das neue Passwort braucht mindestens 12 Zeichen.", "The new password needs at least 12 characters.")
    }
    var passwordTooLong: String {
        t("Das neue Passwort darf höchstens 72 Bytes lang sein.", "The new password may have at most 72 bytes.")
    }
    var passwordControlCharacters: String {
        t("Das neue Passwort darf keine Steuerzeichen enthalten.", "The new password must not contain control "
            + "characters.")
    }
    var passwordLocked: String {
        t("Zu viele falsche Versuche. Bitte versuchen Sie es später erneut.",
          "Too many wrong attempts. Please try again later.")
    }
    /// The login page's text (one wording for both forms).
    var passwordBusy: String { LoginTexts(language: language).busy }

    // Errors
    var notFoundTitle: String { t("Nicht gefunden", "Not found") }
    var notFoundText: String {
        t("Diese Anfrage gibt es nicht, oder Sie haben keinen Zugriff darauf.",
          "This thread does not exist, or you have no access to it.")
    }
    var badRequestTitle: String { t("Ungültige Eingabe", "Invalid input") }
    var badRequestText: String {
        t("Die Eingabe konnte nicht verarbeitet werden.", "The input could not be processed.")
    }
    var forbiddenTitle: String { t("Nicht erlaubt", "Not allowed") }
    var tooLargeText: String { t("Die Eingabe ist zu groß.", "The input is too large.") }
    var replyEmpty: String { t("Die Antwort ist leer oder zu lang.", "The reply is empty or too long.") }
    var serverErrorTitle: String { t("Fehler", "Error") }
    var serverErrorText: String {
        t("Die Aktion ist fehlgeschlagen. Bitte versuchen Sie es später erneut.",
          "The action failed. Please try again later.")
    }
}

/// A fixed message shown after an action (passed as `?notice=` in the redirect, Post/Redirect/Get).
enum InboxNotice: Hashable, Sendable {
    case replyQueued
    case replyKeyUnusable(ReplyOutcome.KeyProblem)
    case stateChanged, assigned, unassigned, reassigned, keyChangeConfirmed, deleted, passwordChanged

    /// The query value.
    var code: String {
        switch self {
        case .replyQueued: "reply-queued"
        case .replyKeyUnusable(let problem): "reply-key-\(problem.rawValue)"
        case .stateChanged: "state-changed"
        case .assigned: "assigned"
        case .unassigned: "unassigned"
        case .reassigned: "reassigned"
        case .keyChangeConfirmed: "key-change-confirmed"
        case .deleted: "deleted"
        case .passwordChanged: "password-changed"
        }
    }

    /// Parses a query value; unknown codes are ignored (nil).
    init?(code: String) {
        let all: [InboxNotice] = [.replyQueued, .stateChanged, .assigned, .unassigned, .reassigned, .keyChangeConfirmed,
                                  .deleted, .passwordChanged]
            + ReplyOutcome.KeyProblem.allCases.map { .replyKeyUnusable($0) }
        guard let notice = all.first(where: { $0.code == code }) else { return nil }
        self = notice
    }
}
