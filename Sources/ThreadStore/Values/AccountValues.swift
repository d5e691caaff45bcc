// Security: account IDs arrive from session rows, API tokens and URLs; they validate on init. Staff accounts
// are not client data, but `description` stays redacted like every other identifier. Secrets (password
// hashes, TOTP secrets, session and API tokens) appear only in the values that need them and never in a
// `description`.

public import Foundation

/// The opaque, random ID of a counsellor account (128 bits, 32 lower-case hex characters).
public struct AccountID: Hashable, Sendable, CustomStringConvertible {
    let raw: RandomHex128
    /// Validates an account ID from text.
    public init(_ text: String) throws(ThreadStoreError) { raw = try RandomHex128(validating: text) }
    init(raw: RandomHex128) { self.raw = raw }
    static func random() -> AccountID { AccountID(raw: .random()) }
    /// The ID in clear, for the database and URLs.
    public var unredactedDescription: String { raw.text }
    public var description: String { "<account>" }
}

/// What an account may do on the counsellor side.
public enum CounsellorRole: Int, Hashable, Sendable, CaseIterable {
    /// Reads and answers threads of its counselling fields.
    case counsellor = 0
    /// Team lead: sees every field, assigns threads, deletes threads. (Administering accounts is a right of its
    /// own: ``Account/administers``.)
    case teamLead = 1

    /// Whether an account of this role working in `fields` reaches any thread: a team lead does, a counsellor
    /// through its fields. A counsellor without fields reads nothing (an administrator only).
    public func readsThreads(in fields: Set<CounsellingField>) -> Bool { self == .teamLead || !fields.isEmpty }
}

/// The language of the web interface for an account.
public enum InterfaceLanguage: String, Hashable, Sendable, CaseIterable {
    case german = "de"
    case english = "en"
}

/// A counsellor account as listed and as seen after login. Carries no secret (no password hash, no TOTP secret).
///
/// ```swift
/// let account = try await store.read { tx in try tx.account(named: "anna") }
/// print(account)   // "Account(<account>, counsellor)": no user name
/// ```
public struct Account: Hashable, Sendable, CustomStringConvertible {
    /// The account's ID.
    public var id: AccountID
    /// The login name (unique, compared without regard to ASCII case).
    public var username: String
    /// The name shown in the interface.
    public var displayName: String
    /// What the account may do.
    public var role: CounsellorRole
    /// The interface language.
    public var language: InterfaceLanguage
    /// The counselling fields the account works in.
    public var fields: Set<CounsellingField>
    /// A disabled account cannot log in; its sessions and API tokens stop working.
    public var isDisabled: Bool
    /// Whether a TOTP second factor is enrolled.
    public var hasSecondFactor: Bool
    /// When the account was created.
    public var createdAt: Date
    /// When the password was last set.
    public var passwordChangedAt: Date
    /// Whether the account must choose a new password before it can work: its password was chosen or seen by an
    /// administrator (`users add`, `users reset`).
    public var mustChangePassword: Bool = false
    /// The organisation the account works for (issue 29); nil on an installation without `[[organisation]]`.
    public var organisation: OrganisationID? = nil
    /// Whether the account administers its organisation's accounts and API tokens (issue 29, the organisation
    /// administrator). It gives no thread: that comes from ``role`` and ``fields`` alone.
    public var administers: Bool = false

    /// Whether the account reaches any thread (``CounsellorRole/readsThreads(in:)``).
    public var readsThreads: Bool { role.readsThreads(in: fields) }

    public var description: String { "Account(\(id), \(role)\(administers ? ", administers" : ""))" }
}

/// What ``WriteTransaction/createAccount(_:actor:)`` needs. `passwordHash` is a bcrypt hash made by the caller.
public struct NewAccount: Sendable, CustomStringConvertible {
    /// The login name: 1 to 64 characters of `A-Z a-z 0-9 . _ @ -` (see ``Account/isValidUsername(_:)``).
    public var username: String
    /// The shown name: 1 to 128 characters, no control characters.
    public var displayName: String
    /// What the account may do.
    public var role: CounsellorRole
    /// The interface language.
    public var language: InterfaceLanguage
    /// The counselling fields the account works in.
    public var fields: Set<CounsellingField>
    /// The password hash (bcrypt, `$2b$…`); never the password.
    public var passwordHash: String
    /// Whether the account must choose its own password at its first login (the administrator knows this one).
    public var mustChangePassword: Bool
    /// The organisation the account works for (issue 29); nil on an installation without `[[organisation]]`.
    public var organisation: OrganisationID?
    /// Whether the account administers its organisation (``Account/administers``).
    public var administers: Bool

    /// Creates the values of a new account.
    public init(username: String, displayName: String, role: CounsellorRole, language: InterfaceLanguage = .german,
                fields: Set<CounsellingField>, passwordHash: String, mustChangePassword: Bool = false,
                organisation: OrganisationID? = nil, administers: Bool = false) {
        self.administers = administers
        self.mustChangePassword = mustChangePassword
        self.organisation = organisation
        self.username = username
        self.displayName = displayName
        self.role = role
        self.language = language
        self.fields = fields
        self.passwordHash = passwordHash
    }

    public var description: String { "NewAccount(\(role))" }
}

extension Account {
    /// The longest accepted user name.
    public static let maximumUsernameLength = 64
    /// The longest accepted display name.
    public static let maximumDisplayNameLength = 128

    /// Whether `name` is an acceptable login name: 1 to 64 characters of `A-Z a-z 0-9 . _ @ -`.
    public static func isValidUsername(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maximumUsernameLength
            && name.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: ".")
                    || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "-")
            }
    }

    /// Whether `name` is an acceptable display name: 1 to 128 characters, no control characters.
    public static func isValidDisplayName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= maximumDisplayNameLength
            && !name.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
            && !name.trimmingCharacters(in: .whitespaces).isEmpty
    }
}

/// The secrets needed to check a login: the password hash and, if enrolled, the TOTP secret (opened).
/// Returned only by ``ReadTransaction/loginCredentials(username:)``; `description` shows none of it.
public struct LoginCredentials: Sendable, CustomStringConvertible {
    /// The account (may be disabled: the caller checks the password first, then refuses without saying why).
    public var account: Account
    /// The bcrypt hash.
    public var passwordHash: String
    /// The TOTP shared secret, or nil if no second factor is enrolled.
    public var totpSecret: String?
    /// The last TOTP time step that was accepted (a code of this or an earlier step is refused).
    public var lastTOTPStep: Int64?

    public var description: String { "LoginCredentials(\(account.id))" }
}

/// A browser session found by its cookie token.
public struct WebSession: Sendable, CustomStringConvertible {
    /// The account (never disabled: lookup refuses disabled accounts).
    public var account: Account
    /// The CSRF token bound to this session (compare in constant time).
    public var csrfToken: String
    /// Whether the second factor was checked in this session (or none is required).
    public var secondFactorDone: Bool
    /// When the session was created.
    public var createdAt: Date
    /// The last request seen.
    public var lastSeenAt: Date
    /// The absolute end of the session.
    public var expiresAt: Date

    public var description: String { "WebSession(\(account.id), secondFactorDone: \(secondFactorDone))" }
}

/// A newly created browser session: the cookie token (shown once; only its SHA-256 is stored) and its CSRF token.
public struct NewWebSession: Sendable, CustomStringConvertible {
    /// 64 lower-case hex characters (256 random bits): the `mb_session` cookie value.
    public var token: String
    /// 64 lower-case hex characters: the CSRF token for forms and the `X-CSRF-Token` header.
    public var csrfToken: String
    /// The absolute end of the session.
    public var expiresAt: Date

    public var description: String { "NewWebSession(<token>)" }
}

/// The opaque, random ID of an API token (not the token itself).
public struct APITokenID: Hashable, Sendable, CustomStringConvertible {
    let raw: RandomHex128
    /// Validates an API token ID from text.
    public init(_ text: String) throws(ThreadStoreError) { raw = try RandomHex128(validating: text) }
    init(raw: RandomHex128) { self.raw = raw }
    static func random() -> APITokenID { APITokenID(raw: .random()) }
    /// The ID in clear.
    public var unredactedDescription: String { raw.text }
    public var description: String { "<api-token>" }
}

/// An API token as listed: never the secret.
public struct APITokenInfo: Hashable, Sendable, CustomStringConvertible {
    /// The token's ID (for `mailbridge tokens revoke`).
    public var id: APITokenID
    /// The account the token acts as.
    public var accountID: AccountID
    /// The login name of that account.
    public var username: String
    /// What the token is for (for example "platform").
    public var label: String
    /// When it was created.
    public var createdAt: Date
    /// When it was revoked, or nil.
    public var revokedAt: Date?

    public var description: String { "APITokenInfo(\(id))" }
}

/// A newly created API token: the secret (`mbt_` + 64 hex characters), shown once; only its SHA-256 is stored.
public struct NewAPIToken: Sendable, CustomStringConvertible {
    /// The token's ID.
    public var id: APITokenID
    /// The bearer secret.
    public var token: String

    public var description: String { "NewAPIToken(\(id))" }
}
