public import PGPShim
public import ThreadStore

/// One counselling address as the pipeline needs it: who we are, where notices go, and the fixed texts.
/// Built from configuration; holds operator text only, never client data.
public struct PipelineMailbox: Sendable {
    public var address: EmailAddress
    public var field: CounsellingField
    public var teamAddress: EmailAddress
    public var link: PlatformLink
    public var redirectTemplate: RedirectTemplate
    public var notificationTemplate: RedirectTemplate
    /// The gateway key clients encrypt to for this address.
    public var gatewayKey: KeyFingerprint
    /// The content-free notice sent instead of a counsellor reply when the client key cannot be used.
    public var replyWaitingTemplate: RedirectTemplate

    public init(address: EmailAddress, field: CounsellingField, teamAddress: EmailAddress, link: PlatformLink,
                redirectTemplate: RedirectTemplate, notificationTemplate: RedirectTemplate, gatewayKey: KeyFingerprint,
                replyWaitingTemplate: RedirectTemplate? = nil) {
        self.replyWaitingTemplate = replyWaitingTemplate ?? .replyWaiting(german: redirectTemplate != .english)
        self.address = address
        self.field = field
        self.teamAddress = teamAddress
        self.link = link
        self.redirectTemplate = redirectTemplate
        self.notificationTemplate = notificationTemplate
        self.gatewayKey = gatewayKey
    }
}

extension RedirectTemplate {
    /// The built-in "a new reply is waiting, please sign in" notice (the text of
    /// `Config/templates/reply-waiting.<language>.txt`), with a fixed subject.
    public static func replyWaiting(german: Bool) -> RedirectTemplate {
        RedirectTemplate(
            subject: german ? "Neue Antwort der Online-Beratung" : "A new reply from the online counselling service",
            body: MessageTemplate.builtInText(.replyWaiting, language: german ? .de : .en))
    }

    /// The notice from a checked ``MessageTemplate`` of kind `.replyWaiting` (its only placeholder is `{{link}}`,
    /// which ``TemplateMail`` fills in).
    public static func replyWaiting(_ template: MessageTemplate, german: Bool) throws -> RedirectTemplate {
        RedirectTemplate(subject: replyWaiting(german: german).subject, body: try template.render([.link: "{{link}}"]))
    }

    /// The built-in counsellor notice: counselling field and an opaque thread reference, nothing else.
    public static func notification(field: CounsellingField, german: Bool) -> RedirectTemplate {
        let name = field.unredactedDescription
        return german
            ? RedirectTemplate(subject: "Neue Nachricht in der Online-Beratung", body: """
                Im Beratungsfeld \(name) ist eine neue verschlüsselte Nachricht eingegangen.

                Vorgang: {{reference}}

                Bitte lesen und beantworten Sie sie im geschützten Posteingang:
                {{link}}

                Diese Benachrichtigung enthält absichtlich keine Inhalte und keine Absenderangaben.
                """)
            : RedirectTemplate(subject: "New message in online counselling", body: """
                A new encrypted message has arrived in the counselling field \(name).

                Thread: {{reference}}

                Please read and answer it in the protected inbox:
                {{link}}

                This notice deliberately contains no content and no sender details.
                """)
    }
}
