public import Foundation

/// The kinds of audit events. Stored as integer codes; never with content.
public enum AuditEvent: Int, Hashable, Sendable, CaseIterable {
    /// A thread was created for a client.
    case threadCreated = 1
    /// A message was stored (item: the message ID).
    case messageStored = 2
    /// An import matched a stored message and wrote nothing (item: the stored message ID).
    case duplicateIgnored = 3
    /// An import carried an encrypted payload seen before and wrote nothing.
    case replayRejected = 4
    /// A thread was deleted on request (crypto-shredded).
    case threadDeleted = 5
    /// A thread was deleted by the retention policy (crypto-shredded).
    case threadDeletedByRetention = 6
    /// An outbox item was queued (item: its ID; count: its kind code).
    case outboxQueued = 7
    /// An outbox item was delivered and deleted.
    case outboxDelivered = 8
    /// An outbox item failed permanently.
    case outboxFailed = 9
    /// A thread's state changed (count: the new state code).
    case threadStateChanged = 10
    /// A retention run finished (count: threads deleted).
    case retentionApplied = 11
    /// An online backup was written.
    case backupWritten = 12
    /// Old audit entries were pruned by retention (count: entries removed).
    case auditPruned = 13
    /// Failed thread-less outbox items were deleted by retention (count: items).
    case outboxDeletedByRetention = 14
    /// Plain (or not cleanly encrypted) inbound mail: a redirect reply was queued; `count` holds no data.
    case inboundRedirected = 15
    /// Plain inbound mail whose redirect was suppressed; `count` is the reason code.
    case inboundRedirectSuppressed = 16
    /// Encrypted inbound mail that was not imported; `count` is the reason code.
    case inboundEncryptedRejected = 17
    /// A counsellor's reply could not be encrypted (client key missing, expired or revoked); only the fixed
    /// "a reply is waiting" notice went out. Recorded with the thread, so the counsellor side can show it.
    case replyKeyUnusable = 18

    // The counsellor side (issue 8). Each is recorded with the acting account (``AuditEntry/actor``).
    /// A counsellor opened a thread (its content was decrypted for display).
    case threadViewed = 19
    /// A counsellor queued a reply in a thread.
    case replyQueued = 20
    /// A counsellor downloaded an attachment (`itemID` names the message, `count` the attachment position).
    case attachmentDownloaded = 21
    /// A thread was exported (API or CLI).
    case threadExported = 22
    /// A thread was assigned to an account (`itemID` names the account) or unassigned (no `itemID`).
    case threadAssigned = 23
    /// A counsellor confirmed that the client now writes with another key.
    case clientKeyChangeConfirmed = 24
    /// A login succeeded (password and, where enrolled, the second factor).
    case loginSucceeded = 25
    /// A login failed (`count` holds a reason code; the attempted user name is never stored).
    case loginFailed = 26
    /// A session ended by logout or timeout.
    case loggedOut = 27
    /// An account was created.
    case accountCreated = 28
    /// An account was disabled.
    case accountDisabled = 29
    /// An account's password (and second factor) was reset.
    case accountReset = 30
    /// An API token was created.
    case apiTokenCreated = 31
    /// An API token was revoked.
    case apiTokenRevoked = 32
    /// A second factor (TOTP) was enrolled.
    case secondFactorEnrolled = 33
    /// An account's counselling fields were changed (`count` holds the new number of fields).
    case accountFieldsChanged = 34
    /// A disabled account was enabled again.
    case accountEnabled = 35
    /// An account was deleted (`itemID` keeps its opaque ID; its name is gone).
    case accountDeleted = 36
    /// An account changed its own password in the web inbox.
    case passwordChanged = 37

    // Issue 17: no key to reply to yet, held replies.
    /// A counsellor reply could not be encrypted and is held (`itemID`: the message; `count`: the problem code).
    case replyHeld = 38
    /// A held reply was encrypted to a usable client key and queued (`itemID`: the message).
    case heldReplyReleased = 39
    /// The fixed "please send your public key" notice was queued for a thread without a client key.
    case clientKeyRequested = 40
    /// A thread without a client key got its key (a later message signed by the awaited key carried it).
    case threadKeyReceived = 41

    // Receipts (issue 17): 42–44 are reserved for them.
    /// A receipt (the signed, encrypted acknowledgement) was queued for the client of a thread.
    case receiptQueued = 42

    // Routed notices (issue 17).
    /// An account's notification address or mode was set or cleared (`count`: the mode code, nil when cleared).
    case notificationSettingsChanged = 45
    /// A notice digest was queued (`itemID`: its outbox item; `count`: the messages it counts).
    case noticeDigestQueued = 46

    // Rejected encrypted mail kept sealed (issue 28).
    /// A rejected encrypted message kept sealed (issue 28) was re-injected into the spool (item: its ID).
    case rejectedMessageReinjected = 52
    /// A rejected encrypted message kept sealed was deleted by an administrator (item: its ID).
    case rejectedMessageDeleted = 53
    /// Rejected encrypted messages older than their retention were deleted (count: how many).
    case rejectedMessagesExpired = 54

    // Gateway key lifecycle (issue 20): 60–63. `itemID` is the gateway key's fingerprint (public, not client data).
    /// A mailbox got a new current gateway key (`itemID`: the new key); the one before it decrypts for a while.
    case gatewayKeyRotated = 60
    /// A gateway key's overlap ended: mail encrypted to it is rejected from now on (`itemID`: the key).
    case gatewayKeyRetired = 61
    /// A gateway key was revoked and its revocation published (`itemID`: the revoked key).
    case gatewayKeyRevoked = 62
    /// A gateway key's expiry was extended (`itemID`: the key; `count`: the new expiry in days from now).
    case gatewayKeyExpiryExtended = 63
    // Disaster recovery (issue 20).
    /// The master key was rotated: every wrapped key and master-sealed value was resealed (count: thread keys).
    case masterKeyRotated = 64
    /// A backup archive was restored into this store and verified (count: threads).
    case backupRestored = 65
    // Organisations (issue 29).
    /// The installation's administrator moved an account into another organisation (or out of every one);
    /// item: the account.
    case accountOrganisationChanged = 66
    /// The installation's administrator crypto-shredded an organisation (`mailbridge organisations shred`): its
    /// threads (each audited ``threadDeleted``) and its key check are gone; item: the organisation's ID; count:
    /// the threads deleted.
    case organisationShredded = 67
    /// The gateway keys of a crypto-shredded organisation's mailboxes were deleted from the keyring (and, on
    /// PostgreSQL, the shared shelf); item: the organisation's ID; count: the keys deleted.
    case organisationGatewayKeysRetired = 68
    /// Threads from before their organisation had its own key were sealed under it as well (at start); item: the
    /// organisation's ID; count: the threads.
    case threadKeysSealedForOrganisation = 69
    /// An account's role or its organisation administrator's right changed (an organisation's administrator in
    /// the web inbox, or the command line); item: the account; count: the new values
    /// (``roleChangeCount(_:administers:)``).
    case accountRoleChanged = 70
}

extension AuditEvent {
    /// The count of an ``accountRoleChanged`` row: the role's stored number, plus 2 if the account administers its
    /// organisation (0 counsellor, 1 team lead, 2 counsellor and administrator, 3 team lead and administrator).
    public static func roleChangeCount(_ role: CounsellorRole, administers: Bool) -> Int {
        role.rawValue + (administers ? 2 : 0)
    }
}

/// Which audit entries ``ReadTransaction/latestAuditEntries(_:limit:)`` returns; nil fields match everything.
public struct AuditFilter: Hashable, Sendable {
    /// Only entries about this thread.
    public var thread: ThreadID?
    /// Only entries of this acting account.
    public var actor: AccountID?
    /// Only entries at or after this time.
    public var since: Date?
    /// Only entries with a smaller sequence number (to page back through a long log).
    public var before: Int64?
    /// Only entries that concern this organisation (issue 29): about a thread of one of its fields (whoever acted),
    /// or, without a thread, by or about one of its accounts since it last joined an organisation (rows from before
    /// an account's latest ``AuditEvent/accountOrganisationChanged`` belong to its earlier organisation and are
    /// left out). A deleted thread's rows name a thread that is gone and match no organisation.
    public var organisation: (id: OrganisationID, fields: Set<CounsellingField>)? {
        get { organisationScope.map { ($0.id, $0.fields) } }
        set { organisationScope = newValue.map { OrganisationScope(id: $0.id, fields: $0.fields) } }
    }
    struct OrganisationScope: Hashable, Sendable {
        var id: OrganisationID
        var fields: Set<CounsellingField>
    }
    var organisationScope: OrganisationScope?

    /// A filter; with no arguments it matches every entry.
    public init(thread: ThreadID? = nil, actor: AccountID? = nil, since: Date? = nil, before: Int64? = nil) {
        self.thread = thread
        self.actor = actor
        self.since = since
        self.before = before
    }
}

/// How an audited action reached the store.
public enum AuditChannel: Hashable, Sendable, CustomStringConvertible {
    /// A browser session of the web inbox (login pages included).
    case browser
    /// The JSON API with the bearer token of this ID (see `mailbridge tokens list`).
    case apiToken(APITokenID)
    /// The server's command line (`mailbridge users`, `tokens`, `reply`).
    case commandLine

    /// The stored code (column `audit.channel`).
    var code: Int {
        switch self {
        case .browser: 1
        case .apiToken: 2
        case .commandLine: 3
        }
    }

    /// The channel of a stored code and token ID; nil for an unknown code or an API row without a valid token ID.
    init?(code: Int, tokenID: String?) {
        switch code {
        case 1: self = .browser
        case 2:
            guard let tokenID, let id = try? APITokenID(tokenID) else { return nil }
            self = .apiToken(id)
        case 3: self = .commandLine
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .browser: "browser"
        case .apiToken(let id): "api-token(\(id))"
        case .commandLine: "command-line"
        }
    }
}

/// One audit log row: when, what, which IDs, and a count. Never content, addresses or key material.
public struct AuditEntry: Hashable, Sendable, CustomStringConvertible {
    /// Monotonic row number.
    public var sequence: Int64
    /// When it happened.
    public var at: Date
    /// What happened.
    public var event: AuditEvent
    /// The thread concerned, if any (an opaque random ID; it stays after the thread is deleted).
    public var thread: ThreadID?
    /// A message or outbox item ID (32 hex characters), if any.
    public var itemID: String?
    /// A count (for example threads deleted by a retention run).
    public var count: Int?
    /// The account that acted (web inbox, API, CLI `users`), if any.
    public var actor: AccountID?
    /// Through which door the action came (browser, API token, command line); nil for the gateway's own entries
    /// and rows written before schema v7.
    public var channel: AuditChannel?

    public var description: String { "AuditEntry(#\(sequence), \(event))" }
}
