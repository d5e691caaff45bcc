// Security: what the web routes may use. Every content access goes through `inbox` (decrypting, checking the
// account's fields and auditing in one transaction); authentication goes through `webState`; replies leave only
// through `replies` (the outbound funnel).

public import Foundation
public import Logging
public import ThreadStore

/// The dependencies of the web inbox and JSON API, shared by all routes.
public struct WebServices: Sendable {
    /// What authentication shares between requests and gateway nodes (accounts as login needs them, sessions,
    /// TOTP steps, login locks): ``ThreadStoreWebState`` over `store` on SQLite, by default.
    public var webState: any WebStateStore
    /// The counsellor inbox's transactions (lists, opened threads, attachments, state, assignment, deletion):
    /// ``ThreadStoreInbox`` over `store` on SQLite, by default.
    public var inbox: any InboxStore
    /// The one way a counsellor reply is queued.
    public var replies: ReplyComposer
    /// Logs outcome codes only, never content or user names.
    public var logger: Logger
    /// Session, second-factor, cookie, bcrypt and rate-limit settings (from the `[web]` section).
    public var auth: WebAuthSettings
    /// The clock (a fake in tests).
    public var now: @Sendable () -> Date
    /// The zone in which pages show times (`[web] time-zone`, else the server's).
    public var timeZone: TimeZone
    /// The public encryption help page served under `/help` (issue 17); nil when it is off or has its own
    /// listener (``HelpServer``).
    public var help: HelpDirectory?
    /// Which fields each organisation owns (issue 29): every account reaches only its organisation's. The
    /// implicit organisation (no `[[organisation]]`) by default.
    public var organisations: OrganisationDirectory = .implicit
    /// Account and API token administration for organisation administrators (the `/admin` pages); nil: the pages
    /// answer not found.
    public var accounts: (any AccountAdminStore)?
    /// The audit log, for an organisation administrator's view of its organisation's entries; nil: not shown.
    public var audit: (any AuditLogStore)?
    /// Every configured mailbox's field: what an administrator of the implicit organisation may give its accounts.
    public var fields: Set<CounsellingField> = []

    /// The routes on one engine's seams (``GatewayStores``).
    public init(webState: any WebStateStore, inbox: any InboxStore, replies: ReplyComposer, logger: Logger,
                auth: WebAuthSettings = WebAuthSettings(), timeZone: TimeZone = .current,
                accounts: (any AccountAdminStore)? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.accounts = accounts
        self.webState = webState
        self.inbox = inbox
        self.timeZone = timeZone
        self.replies = replies
        self.logger = logger
        self.auth = auth
        self.now = now
    }
}

extension WebServices {
    /// The routes on one SQLite ``ThreadStore`` (tests); a seam given replaces the store's own.
    public init(store: ThreadStore, webState: (any WebStateStore)? = nil, inbox: (any InboxStore)? = nil,
                replies: ReplyComposer, logger: Logger, auth: WebAuthSettings = WebAuthSettings(),
                timeZone: TimeZone = .current, now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(webState: webState ?? ThreadStoreWebState(store), inbox: inbox ?? ThreadStoreInbox(store),
                  replies: replies, logger: logger, auth: auth, timeZone: timeZone,
                  accounts: ThreadStoreAccountAdmin(store), now: now)
        audit = ThreadStoreAuditLog(store)
    }
}
