public import Foundation
import GRDB

extension ReadTransaction {
    /// Every account, ordered by user name. No secrets.
    public func accounts() throws -> [Account] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT \(AccountRows.columns) FROM account a ORDER BY a.username COLLATE NOCASE")
        ).map { try AccountRows.account(db, row: $0) }
    }

    /// The account with this login name (ASCII case ignored), or nil. A malformed name finds nothing.
    public func account(named username: String) throws -> Account? {
        try AccountRows.find(db, username: username)
    }

    /// The account with this ID, or nil.
    public func account(_ id: AccountID) throws -> Account? {
        try AccountRows.find(db, id: id)
    }

    /// The password hash and opened TOTP secret of the account with this login name, or nil if none exists.
    /// Returns disabled accounts too, so the caller can spend the same time on every failure.
    /// - Throws: ``ThreadStoreError/unsealingFailed`` if the sealed TOTP secret was altered or moved.
    public func loginCredentials(username: String) throws -> LoginCredentials? {
        guard let account = try AccountRows.find(db, username: username),
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT password_hash, totp_secret_sealed, totp_last_step FROM account WHERE id = ?"),
                arguments: [account.id.raw.text])
        else { return nil }
        var secret: String?
        if let sealed = row["totp_secret_sealed"] as Data? {
            secret = try Sealing.openString(
                sealed, key: context.keys.accountSecrets, context: AccountRows.sealContext(account.id))
        }
        return LoginCredentials(account: account, passwordHash: row["password_hash"], totpSecret: secret,
                                lastTOTPStep: row["totp_last_step"])
    }

    /// The live session with this cookie token, or nil if none exists, it passed its absolute end
    /// (`expiresAt <= now`), it was idle for `idleTimeout` or longer, or its account is disabled.
    /// Does not record the request; use ``WriteTransaction/authenticateWebSession(token:now:idleTimeout:)`` for that.
    public func webSession(token: String, now: Date, idleTimeout: TimeInterval) throws -> WebSession? {
        guard let (session, _) = try findSession(token: token) else { return nil }
        return Self.isLive(session, now: now, idleTimeout: idleTimeout) ? session : nil
    }

    /// The account an API token acts as, or nil if the token is unknown or revoked or the account is disabled.
    public func apiTokenAccount(token: String) throws -> Account? { try apiTokenCredential(token: token)?.account }

    /// Like ``apiTokenAccount(token:)``, with the ID of the token (for the audit log's channel).
    public func apiTokenCredential(token: String) throws -> (account: Account, tokenID: APITokenID)? {
        guard token.hasPrefix("mbt_"), token.utf8.count == 68 else { return nil }
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT t.id, t.account_id FROM api_token t JOIN account a ON a.id = t.account_id
                    WHERE t.token_hash = ? AND t.revoked_at IS NULL AND a.disabled = 0
                    """),
                arguments: [AccountRows.tokenHash(token)]),
            let account = try AccountRows.find(db, id: try AccountID(row["account_id"] as String))
        else { return nil }
        return (account, try APITokenID(row["id"] as String))
    }

    /// Every API token (revoked ones too), oldest first, without secrets.
    public func apiTokens() throws -> [APITokenInfo] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT t.id, t.account_id, a.username, t.label, t.created_at, t.revoked_at
                FROM api_token t JOIN account a ON a.id = t.account_id ORDER BY t.created_at, t.id
                """)
        ).map { row in
            APITokenInfo(
                id: try APITokenID(row["id"] as String), accountID: try AccountID(row["account_id"] as String),
                username: row["username"], label: row["label"], createdAt: Date(storeMilliseconds: row["created_at"]),
                revokedAt: (row["revoked_at"] as Int64?).map(Date.init(storeMilliseconds:)))
        }
    }

    /// The session row of `token` and whether its account is disabled (nil if none).
    func findSession(token: String) throws -> (WebSession, Bool)? {
        guard token.utf8.count == 64,
            let row = try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT account_id, csrf_token, second_factor_done, created_at, last_seen_at, expires_at
                    FROM web_session WHERE token_hash = ?
                    """),
                arguments: [AccountRows.tokenHash(token)]),
            let account = try AccountRows.find(db, id: try AccountID(row["account_id"] as String))
        else { return nil }
        let session = WebSession(
            account: account, csrfToken: row["csrf_token"], secondFactorDone: row["second_factor_done"] as Bool,
            createdAt: Date(storeMilliseconds: row["created_at"]),
            lastSeenAt: Date(storeMilliseconds: row["last_seen_at"]),
            expiresAt: Date(storeMilliseconds: row["expires_at"]))
        return (session, account.isDisabled)
    }

    static func isLive(_ session: WebSession, now: Date, idleTimeout: TimeInterval) -> Bool {
        !session.account.isDisabled && now < session.expiresAt && now < session.lastSeenAt + idleTimeout
    }
}
