/// The built-in texts, identical to `Config/templates/<kind>.<language>.txt` (a test keeps them in step), so the
/// binary needs no resource files. An administrator copies a file, edits it and names it in `[[mailbox]]`.
extension MessageTemplate {
    /// The built-in template of `kind` in `language`.
    public static func builtIn(_ kind: Kind, language: BridgeConfiguration.Language) -> MessageTemplate {
        // The built-in texts satisfy the policy; `MessageTemplateTests` checks each one.
        try! MessageTemplate(kind: kind, text: builtInText(kind, language: language))
    }

    /// The raw built-in text of `kind` in `language`.
    public static func builtInText(_ kind: Kind, language: BridgeConfiguration.Language) -> String {
        switch (kind, language) {
        case (.redirect, .de):
            """
            Guten Tag,

            vielen Dank für Ihre Nachricht. Bitte beachten Sie: Eine gewöhnliche E-Mail ist
            nicht vertraulich. Sie kann auf dem Weg zu uns von Dritten mitgelesen werden.

            Zu Ihrem Schutz haben wir Ihre Nachricht daher weder gelesen noch gespeichert.

            Bitte schreiben Sie uns über unsere geschützte Beratungsplattform:
            {{link}}

            Dort können Sie sich anmelden und uns vertraulich schreiben. Wir sind gern für
            Sie da.

            Dies ist eine automatische Antwort.

            """
        case (.redirect, .en):
            """
            Hello,

            thank you for your message. Please note: ordinary e-mail is not confidential.
            Others may be able to read it on its way to us.

            To protect you, we have therefore neither read nor stored your message.

            Please write to us through our protected counselling platform:
            {{link}}

            There you can sign in and write to us in confidence. We are glad to help.

            This is an automatic reply.

            """
        case (.notify, .de):
            """
            Im Beratungsbereich {{field}} ist eine neue verschlüsselte Nachricht eingegangen.

            Vorgang: {{thread}}

            Bitte lesen und beantworten Sie sie im geschützten Posteingang. Diese
            Benachrichtigung enthält bewusst keine Inhalte und keine Absenderangaben.

            """
        case (.notify, .en):
            """
            A new encrypted message has arrived in the counselling field {{field}}.

            Thread: {{thread}}

            Please read and answer it in the protected inbox. This notice deliberately
            contains no content and no sender details.

            """
        case (.replyWaiting, .de):
            """
            Guten Tag,

            für Sie liegt eine neue Antwort der Online-Beratung bereit. Wir senden sie nur
            verschlüsselt, und mit dem Schlüssel, den wir von Ihnen haben, geht das im
            Moment nicht (er fehlt, ist abgelaufen oder wurde widerrufen). Zu Ihrem Schutz
            senden wir den Inhalt daher nicht unverschlüsselt per E-Mail.

            Bitte senden Sie uns Ihren aktuellen öffentlichen Schlüssel: Schreiben Sie uns
            eine signierte und verschlüsselte E-Mail und hängen Sie Ihren öffentlichen
            Schlüssel an (oder senden Sie ihn per Autocrypt, wenn Ihr E-Mail-Programm das
            anbietet). Senden Sie uns nie Ihren geheimen Schlüssel. Sobald der Schlüssel
            da ist, senden wir Ihnen die Antwort verschlüsselt zu.

            Weitere Hinweise finden Sie hier:
            {{link}}

            Dies ist eine automatische Nachricht.

            """
        case (.replyWaiting, .en):
            """
            Hello,

            a new reply from the online counselling service is waiting for you. We only
            send it encrypted, and the key we have from you cannot be used at the moment
            (it is missing, has expired or was revoked). To protect you, we therefore do
            not send its content by unencrypted e-mail.

            Please send us your current public key: write us a signed and encrypted
            e-mail with your public key attached (or sent by Autocrypt, if your e-mail
            program offers it). Never send us your secret key. As soon as the key has
            arrived, we will send you the reply, encrypted.

            More help:
            {{link}}

            This is an automatic message.

            """
        case (.redirectHelp, .de):
            """
            Guten Tag,

            vielen Dank für Ihre Nachricht. Bitte beachten Sie: Eine gewöhnliche E-Mail ist
            nicht vertraulich. Sie kann auf dem Weg zu uns von Dritten mitgelesen werden.

            Zu Ihrem Schutz haben wir Ihre Nachricht daher weder gelesen noch gespeichert.

            Bitte schreiben Sie uns über unsere geschützte Beratungsplattform:
            {{link}}

            Dort können Sie sich anmelden und uns vertraulich schreiben. Wir sind gern für
            Sie da.

            Sie können uns auch verschlüsselt per E-Mail schreiben. Wie das geht, erklären
            wir hier:
            {{help-link}}

            Dies ist eine automatische Antwort.

            """
        case (.redirectHelp, .en):
            """
            Hello,

            thank you for your message. Please note: ordinary e-mail is not confidential.
            Others may be able to read it on its way to us.

            To protect you, we have therefore neither read nor stored your message.

            Please write to us through our protected counselling platform:
            {{link}}

            There you can sign in and write to us in confidence. We are glad to help.

            You can also write to us by encrypted e-mail. This page explains how:
            {{help-link}}

            This is an automatic reply.

            """
        case (.receipt, .de):
            """
            Guten Tag,

            wir haben Ihre verschlüsselte Nachricht erhalten. Wir antworten in der Regel
            innerhalb von zwei Werktagen.

            Diese Bestätigung ist verschlüsselt und mit dem Schlüssel unserer
            Beratungsadresse signiert. Sie enthält bewusst nichts aus Ihrer Nachricht.

            Dies ist eine automatische Nachricht.

            """
        case (.receipt, .en):
            """
            Hello,

            we have received your encrypted message. We usually answer within two working
            days.

            This confirmation is encrypted and signed with the key of our counselling
            address. It deliberately contains nothing from your message.

            This is an automatic message.

            """
        case (.keyRequest, .de):
            """
            Guten Tag,

            vielen Dank für Ihre verschlüsselte Nachricht. Wir haben sie erhalten und
            geschützt gespeichert.

            Um Ihnen verschlüsselt antworten zu können, brauchen wir Ihren öffentlichen
            Schlüssel. Bitte schreiben Sie uns eine signierte und verschlüsselte E-Mail
            und hängen Sie Ihren öffentlichen Schlüssel an (oder senden Sie ihn per
            Autocrypt, wenn Ihr E-Mail-Programm das anbietet). Senden Sie uns nie Ihren
            geheimen Schlüssel.

            Weitere Hinweise finden Sie hier:
            {{link}}

            Dies ist eine automatische Nachricht.

            """
        case (.keyRequest, .en):
            """
            Hello,

            thank you for your encrypted message. We have received it and stored it
            securely.

            To reply to you encrypted, we need your public key. Please write us a signed
            and encrypted e-mail with your public key attached (or sent by Autocrypt, if
            your e-mail program offers it). Never send us your secret key.

            More help:
            {{link}}

            This is an automatic message.

            """
        }
    }
}

extension BridgeConfiguration.Mailbox {
    /// The template of `kind` for this mailbox: its configured file, checked against the placeholder policy, or
    /// the built-in text in the mailbox's language.
    /// For `.redirect` without a file of its own, a mailbox with a help link gets the built-in text that names it
    /// (`redirect-help`); a redirect file that uses `{{help-link}}` needs a help link to be configured.
    public func template(_ kind: MessageTemplate.Kind) throws(TemplateError) -> MessageTemplate {
        let custom: AbsolutePath? =
            switch kind {
            case .redirect: redirectTemplate
            case .notify: notifyTemplate
            case .replyWaiting: replyWaitingTemplate
            case .keyRequest: keyRequestTemplate
            case .redirectHelp: nil
            case .receipt: receiptTemplate
            }
        guard let custom else {
            if kind == .redirect, helpLink != nil { return MessageTemplate.builtIn(.redirectHelp, language: language) }
            return MessageTemplate.builtIn(kind, language: language)
        }
        let template = try MessageTemplate.load(kind: kind, file: custom.string)
        if template.placeholders.contains(.helpLink), helpLink == nil {
            throw TemplateError(.missingValue(MessageTemplate.Placeholder.helpLink.rawValue), kind: kind,
                                file: custom.string)
        }
        return template
    }

    /// The values of the redirect text's placeholders: the platform link, and the help link when configured.
    public var redirectValues: [MessageTemplate.Placeholder: String] {
        var values: [MessageTemplate.Placeholder: String] = [.link: redirectLink.string]
        if let helpLink { values[.helpLink] = helpLink.string }
        return values
    }
}
