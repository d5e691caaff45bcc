// Security: the identity of the staff member behind a web or API request. It is established only by the
// authentication middleware (session cookie + second factor, or API token) and is the sole input of every
// access decision on the counsellor side. User names are staff data, not client data, but stay out of
// `description` so that a stray interpolation in a log line names nobody.

public import ThreadStore

/// The authenticated account behind a request (issue 8).
public struct Counsellor: Hashable, Sendable, CustomStringConvertible {
    /// The account's ID.
    public var id: AccountID
    /// The login name.
    public var username: String
    /// The name shown in the interface.
    public var displayName: String
    /// What the account may do.
    public var role: CounsellorRole
    /// The counselling fields (mailboxes) the account works in.
    public var fields: Set<CounsellingField>
    /// The interface language.
    public var language: InterfaceLanguage
    /// How this request was authenticated, for the audit log: a browser session or an API token (by its ID).
    public var channel: AuditChannel
    /// Whether the account must choose its own password before the inbox pages open (browser only).
    public var mustChangePassword = false
    /// The fields the account's organisation owns (issue 29): every field in the implicit organisation. No role
    /// reaches past it: a team lead sees every field of its own organisation, a counsellor those of its fields that
    /// its organisation owns. None unless given: an identity made without its organisation reaches nothing.
    public var reach: OrganisationDirectory.Reach = .fields([])
    /// The organisation the account works for (nil: the implicit one).
    public var organisation: OrganisationID?
    /// Whether the account administers its organisation's accounts and API tokens (the `/admin` pages).
    public var administers = false

    /// Creates an identity; `reach`: what its organisation lets it reach (nothing unless given).
    public init(id: AccountID, username: String, displayName: String, role: CounsellorRole,
                fields: Set<CounsellingField>, language: InterfaceLanguage, channel: AuditChannel = .browser,
                reach: OrganisationDirectory.Reach = .fields([])) {
        self.reach = reach
        self.id = id
        self.channel = channel
        self.username = username
        self.displayName = displayName
        self.role = role
        self.fields = fields
        self.language = language
    }

    /// Whether this account may see threads of `field`: team leads every field of their organisation, counsellors
    /// their own fields within it.
    public func mayAccess(_ field: CounsellingField) -> Bool {
        reach.contains(field) && (role == .teamLead || fields.contains(field))
    }

    /// Whether the account reaches any thread (``Account/readsThreads``): an administrator only does not.
    public var readsThreads: Bool { role.readsThreads(in: fields) }

    public var description: String { "Counsellor(\(id), \(role))" }
}
