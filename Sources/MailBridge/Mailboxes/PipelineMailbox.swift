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
    /// Keys this address had before ``gatewayKey`` that still decrypt during their overlap (issue 20); they never
    /// sign and are never published.
    public var overlapKeys: Set<KeyFingerprint> = []
    /// Keys this address had that decrypt nothing any more (retired or revoked), still recognised as ours.
    public var formerKeys: Set<KeyFingerprint> = []
    /// The revoked keys among ``formerKeys``, published beside ``gatewayKey`` through WKD so that clients holding
    /// them learn of the revocation.
    public var revokedKeys: [KeyFingerprint] = []
    /// The content-free notice sent instead of a counsellor reply when the client key cannot be used.
    public var replyWaitingTemplate: RedirectTemplate
    /// The content-free notice asking a client whose encrypted mail came without a key we know for their public
    /// key (issue 17; built-in text in the mailbox's language).
    public var keyRequestTemplate: RedirectTemplate
    /// The gateway key as an Autocrypt header, added to every plain mail the mailbox sends (redirects, notices),
    /// so that the client's mail program can encrypt the next message.
    public var autocrypt: AutocryptHeader? = nil
    /// Whether the mailbox's fixed texts are German (`language = "de"`); else English. Chooses built-in subjects.
    public var german: Bool
    /// How the team address hears of new messages (`team-notification-mode`): each one, or an hourly or daily
    /// digest (see ``NoticeFactory``).
    public var teamNoticeMode: NoticeMode = .eachMessage
    /// The receipt's subject and text (`[receipt]`), sent only encrypted and signed; built-in unless configured.
    public var receiptTemplate: RedirectTemplate = .receipt(german: true)
    /// Whether replying to an unassigned thread assigns it to the replier (`assign-on-reply`, issue 22).
    public var assignOnReply = true

    /// `german` defaults to "unless the redirect text is the built-in English one"; configured mailboxes pass it.
    public init(address: EmailAddress, field: CounsellingField, teamAddress: EmailAddress, link: PlatformLink,
                redirectTemplate: RedirectTemplate, notificationTemplate: RedirectTemplate, gatewayKey: KeyFingerprint,
                replyWaitingTemplate: RedirectTemplate? = nil, german: Bool? = nil) {
        let german = german ?? (redirectTemplate != .english)
        self.german = german
        self.replyWaitingTemplate = replyWaitingTemplate ?? .replyWaiting(german: german)
        self.keyRequestTemplate = .keyRequest(german: german)
        self.address = address
        self.field = field
        self.teamAddress = teamAddress
        self.link = link
        self.redirectTemplate = redirectTemplate
        self.notificationTemplate = notificationTemplate
        self.gatewayKey = gatewayKey
        self.receiptTemplate = .receipt(german: german)
    }
}

extension PipelineMailbox {
    /// The mailbox as configured: its redirect and notice texts come from the administrator's template files (or
    /// the built-in ones), already checked against the placeholder policy, rendered with the link and the field.
    /// The notice keeps `{{reference}}`, which ``TemplateMail`` fills with the opaque thread ID.
    public init(_ mailbox: BridgeConfiguration.Mailbox, gatewayKey: KeyFingerprint) throws {
        let field = try CounsellingField(mailbox.field)
        let german = mailbox.language == .de
        let link = mailbox.redirectLink.string
        self.init(
            address: mailbox.address, field: field, teamAddress: mailbox.teamNotificationAddress,
            link: try PlatformLink(link),
            redirectTemplate: RedirectTemplate(
                subject: (german ? RedirectTemplate.german : .english).subject,
                body: try mailbox.template(.redirect).render(mailbox.redirectValues)),
            notificationTemplate: RedirectTemplate(
                subject: german ? "Neue Nachricht in der Online-Beratung" : "New message in online counselling",
                body: try mailbox.template(.notify).render([.field: field.unredactedDescription,
                                                            .thread: "{{reference}}"])),
            gatewayKey: gatewayKey,
            replyWaitingTemplate: try .replyWaiting(try mailbox.template(.replyWaiting), german: german),
            german: german)
        keyRequestTemplate = RedirectTemplate(subject: RedirectTemplate.keyRequest(german: german).subject,
                                              body: try mailbox.template(.keyRequest).render([.link: "{{link}}"]))
        teamNoticeMode = mailbox.teamNotificationMode
        assignOnReply = mailbox.assignOnReply
        receiptTemplate = RedirectTemplate(subject: RedirectTemplate.receipt(german: german).subject,
                                           body: try mailbox.template(.receipt).render([:]))
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

    /// The built-in "please send us your public key" notice (the text of `Config/templates/key-request.<language>.txt`),
    /// with a fixed subject.
    public static func keyRequest(german: Bool) -> RedirectTemplate {
        RedirectTemplate(
            subject: german ? "Ihr öffentlicher Schlüssel für die Online-Beratung"
                : "Your public key for the online counselling service",
            body: MessageTemplate.builtInText(.keyRequest, language: german ? .de : .en))
    }

    /// The built-in receipt (`Config/templates/receipt.<language>.txt`) with its fixed subject. Only ever sent
    /// inside the encryption (``ReceiptFactory``).
    public static func receipt(german: Bool) -> RedirectTemplate {
        RedirectTemplate(
            subject: german ? "Ihre Nachricht ist angekommen" : "Your message has arrived",
            body: MessageTemplate.builtInText(.receipt, language: german ? .de : .en))
    }

    /// The notice from a checked ``MessageTemplate`` of kind `.replyWaiting` (its only placeholder is `{{link}}`,
    /// which ``TemplateMail`` fills in).
    public static func replyWaiting(_ template: MessageTemplate, german: Bool) throws -> RedirectTemplate {
        RedirectTemplate(subject: replyWaiting(german: german).subject, body: try template.render([.link: "{{link}}"]))
    }
}
