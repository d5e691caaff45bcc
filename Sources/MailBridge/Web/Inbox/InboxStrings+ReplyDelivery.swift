import ThreadStore

/// The inbox texts of issue 22 for counsellor replies: when sent, by whom, how far delivery got.
extension InboxStrings {
    private func text(_ de: String, _ en: String) -> String { language == .german ? de : en }

    /// The time label of a counsellor reply (inbound messages: ``received``).
    var sent: String { text("Gesendet", "Sent") }
    /// The label of the reply's author.
    var writtenBy: String { text("Geschrieben von", "Written by") }
    /// An author whose account no longer exists.
    var formerAccount: String { text("gelöschtes Konto", "deleted account") }
    /// The label of the reply's delivery state.
    var delivery: String { text("Zustellung", "Delivery") }

    func delivery(_ state: ReplyDeliveryState) -> String {
        switch state {
        case .queued: text("In der Warteschlange", "Queued")
        case .sent: text("An den Mailserver übergeben", "Handed to the mail server")
        case .held: text("Zurückgehalten (nicht gesendet)", "Held (not sent)")
        case .failed: text("Fehlgeschlagen – bitte die Administration informieren",
                           "Failed – please tell the administrator")
        }
    }
}
