/// The `[notices]` settings the pipeline and the digest service need.
public struct NoticeSettings: Sendable, Hashable {
    /// `inbox-url` (else `[web] public-url`): the inbox base URL notices link to; nil: notices carry the opaque
    /// thread ID without a link.
    public var inboxLink: InboxLink?

    public init(inboxLink: InboxLink? = nil) {
        self.inboxLink = inboxLink
    }

    /// The settings of a loaded configuration: `[notices] inbox-url`, else `[web] public-url` when it is https.
    public init(_ configuration: BridgeConfiguration) {
        inboxLink = (configuration.notices.inboxURL ?? configuration.web.publicURL).flatMap { try? InboxLink($0) }
    }
}
