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

    public init(address: EmailAddress, field: CounsellingField, teamAddress: EmailAddress, link: PlatformLink,
                redirectTemplate: RedirectTemplate, notificationTemplate: RedirectTemplate, gatewayKey: KeyFingerprint) {
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
