import ThreadStore

/// The inbox texts of issue 17: threads without a client key and held replies.
extension InboxStrings {
    private func text(_ de: String, _ en: String) -> String { language == .german ? de : en }

    /// Shown instead of a fingerprint for a thread without key.
    var noClientKeyYet: String { text("Noch kein Schlüssel zum Antworten", "No key to reply to yet") }
    /// The badge of a counsellor reply that has not been sent.
    var heldReply: String {
        text("Zurückgehalten: wartet auf einen nutzbaren Schlüssel der Klient*in",
             "Held: waiting for a usable client key")
    }
    /// The reply form's label when a reply would be held.
    var replyLabelHeld: String {
        text("Ihre Antwort (wird zurückgehalten, bis ein nutzbarer Schlüssel da ist)",
             "Your reply (held until a usable key arrives)")
    }

    /// The reply form's hint when a reply written now would be held, by reason.
    func replyHintHeld(_ problem: ReplyOutcome.KeyProblem) -> String {
        let why = switch problem {
        case .missing: text("Für diese Anfrage liegt kein Schlüssel der Klient*in vor.",
                            "There is no client key for this thread.")
        case .expired: text("Der Schlüssel der Klient*in ist abgelaufen.", "The client's key has expired.")
        case .revoked: text("Der Schlüssel der Klient*in wurde widerrufen.", "The client's key was revoked.")
        case .unusable: text("Der Schlüssel der Klient*in kann nicht verschlüsseln.",
                             "The client's key cannot encrypt.")
        }
        return why + " " + text(
            "Ihre Antwort wird nicht gesendet, sondern verschlüsselt gespeichert; die Klient*in erhält nur den festen "
                + "Hinweis, dass eine Antwort wartet und wie sie einen aktuellen Schlüssel sendet. Sobald ein "
                + "nutzbarer Schlüssel da ist, wird die Antwort verschlüsselt gesendet.",
            "Your reply is not sent but stored encrypted; the client only gets the fixed notice that a reply is "
                + "waiting and how to send a current key. As soon as a usable key arrives, the reply is sent "
                + "encrypted.")
    }
}
