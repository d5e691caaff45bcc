// Security: constructors for the account and session values, for a store engine outside this module (issue 21).
// They carry secrets exactly as the SQLite engine's values do (the opened TOTP secret in LoginCredentials, the
// cookie and CSRF tokens in NewWebSession); `description` still shows none of them.

public import Foundation

extension AccountID {
    /// A new random account ID (128 bits from the system's CSPRNG).
    public static func makeRandom() -> AccountID { random() }
}

extension Account {
    /// An account as a store engine read it.
    public static func stored(
        id: AccountID, username: String, displayName: String, role: CounsellorRole, language: InterfaceLanguage,
        fields: Set<CounsellingField>, isDisabled: Bool, hasSecondFactor: Bool, createdAt: Date,
        passwordChangedAt: Date, mustChangePassword: Bool, organisation: OrganisationID? = nil,
        administers: Bool = false
    ) -> Account {
        Account(id: id, username: username, displayName: displayName, role: role, language: language, fields: fields,
                isDisabled: isDisabled, hasSecondFactor: hasSecondFactor, createdAt: createdAt,
                passwordChangedAt: passwordChangedAt, mustChangePassword: mustChangePassword,
                organisation: organisation, administers: administers)
    }
}

extension NewAccount {
    /// Whether ``WriteTransaction/createAccount(_:actor:)`` accepts these values: a valid user and display name
    /// and a bcrypt hash (a clear password passed by mistake is refused, not stored).
    public var isAcceptable: Bool {
        Account.isValidUsername(username) && Account.isValidDisplayName(displayName)
            && WriteTransaction.looksLikeBcrypt(passwordHash)
    }
}

extension Account {
    /// Whether a value is stored as a password hash: bcrypt-shaped (a clear password passed by mistake is refused).
    public static func isAcceptablePasswordHash(_ hash: String) -> Bool { WriteTransaction.looksLikeBcrypt(hash) }
}

extension LoginCredentials {
    /// Credentials as a store engine read and opened them.
    public static func stored(account: Account, passwordHash: String, totpSecret: String?, lastTOTPStep: Int64?)
        -> LoginCredentials
    {
        LoginCredentials(account: account, passwordHash: passwordHash, totpSecret: totpSecret,
                         lastTOTPStep: lastTOTPStep)
    }
}

extension WebSession {
    /// A session as a store engine read it.
    public static func stored(account: Account, csrfToken: String, secondFactorDone: Bool, createdAt: Date,
                              lastSeenAt: Date, expiresAt: Date) -> WebSession {
        WebSession(account: account, csrfToken: csrfToken, secondFactorDone: secondFactorDone, createdAt: createdAt,
                   lastSeenAt: lastSeenAt, expiresAt: expiresAt)
    }

    /// Whether the session may serve a request at `now`: its account is enabled, it has not passed its absolute
    /// end and was not idle for `idleTimeout` (the rule of ``ReadTransaction/webSession(token:now:idleTimeout:)``).
    public func isLive(now: Date, idleTimeout: TimeInterval) -> Bool {
        ReadTransaction.isLive(self, now: now, idleTimeout: idleTimeout)
    }
}

extension NewWebSession {
    /// A session a store engine has just stored.
    public static func stored(token: String, csrfToken: String, expiresAt: Date) -> NewWebSession {
        NewWebSession(token: token, csrfToken: csrfToken, expiresAt: expiresAt)
    }
}

extension AuditChannel {
    /// The stored code (column `audit.channel`).
    public var storedCode: Int { code }

    /// The API token's ID for column `audit.token_id`, nil for other channels.
    public var storedTokenID: String? {
        if case .apiToken(let id) = self { return id.unredactedDescription }
        return nil
    }
}

extension SenderHMAC {
    /// The HMAC's 32 bytes, for a store engine's `sender_hmac` column.
    public var storedBytes: Data { bytes }
}

/// The store's time format on every engine: Unix time in milliseconds, rounded down.
public enum StoreTime {
    /// `date` as stored.
    public static func milliseconds(_ date: Date) -> Int64 { date.storeMilliseconds }
    /// The date of a stored time.
    public static func date(_ milliseconds: Int64) -> Date { Date(storeMilliseconds: milliseconds) }
}
