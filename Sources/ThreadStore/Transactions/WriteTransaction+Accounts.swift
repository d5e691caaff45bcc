public import Foundation
import GRDB

extension WriteTransaction {
    /// See ``ReadTransaction/account(named:)``.
    public func account(named username: String) throws -> Account? { try reader.account(named: username) }
    /// See ``ReadTransaction/account(_:)``.
    public func account(_ id: AccountID) throws -> Account? { try reader.account(id) }
    /// See ``ReadTransaction/loginCredentials(username:)``.
    public func loginCredentials(username: String) throws -> LoginCredentials? {
        try reader.loginCredentials(username: username)
    }
    /// See ``ReadTransaction/apiTokenAccount(token:)``.
    public func apiTokenAccount(token: String) throws -> Account? { try reader.apiTokenAccount(token: token) }

    /// Creates an account and audits ``AuditEvent/accountCreated`` (with `actor`, nil for the server CLI).
    /// - Throws: ``ThreadStoreError/accountExists`` if the name is taken (ASCII case ignored);
    ///   ``ThreadStoreError/invalidValue`` for a malformed user or display name or a value that is not a bcrypt hash.
    public func createAccount(_ new: NewAccount, actor: AccountID?) throws -> AccountID {
        guard Account.isValidUsername(new.username), Account.isValidDisplayName(new.displayName),
            Self.looksLikeBcrypt(new.passwordHash)
        else { throw ThreadStoreError.invalidValue }
        guard try AccountRows.find(db, username: new.username) == nil else { throw ThreadStoreError.accountExists }
        let id = AccountID.random()
        let at = now.storeMilliseconds
        try db.cachedStatement(sql: """
            INSERT INTO account (id, username, display_name, role, language, password_hash, created_at,
                                 password_changed_at, password_must_change, organisation, administers)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                id.raw.text, new.username, new.displayName, new.role.rawValue, new.language.rawValue,
                new.passwordHash, at, at, new.mustChangePassword, new.organisation?.rawValue, new.administers,
            ])
        try AccountRows.replaceFields(db, id, new.fields)
        try recordAccess(.accountCreated, actor: actor, itemID: id.raw.text)
        return id
    }

    /// Disables an account: it can no longer log in, its sessions are deleted and its API tokens stop working.
    /// Audits ``AuditEvent/accountDisabled``.
    public func disableAccount(_ id: AccountID, actor: AccountID?) throws {
        try db.cachedStatement(sql: "UPDATE account SET disabled = 1 WHERE id = ?").execute(arguments: [id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        try AccountRows.deleteSessions(db, of: id)
        try recordAccess(.accountDisabled, actor: actor, itemID: id.raw.text)
    }

    /// Deletes an account for good: its names, password hash, second factor, fields, sessions and API tokens (the
    /// foreign keys cascade); threads assigned to it become unassigned, each audited as ``AuditEvent/threadAssigned``
    /// to nobody. Audit rows keep its opaque ID as actor. Audits ``AuditEvent/accountDeleted``. Use
    /// ``ThreadStore/deleteAccount(_:actor:via:)``, which also clears the deleted bytes from the WAL.
    public func deleteAccount(_ id: AccountID, actor: AccountID?) throws {
        try unassignThreads(of: id, outside: [], actor: actor)
        try db.cachedStatement(sql: "DELETE FROM account WHERE id = ?").execute(arguments: [id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        try recordAccess(.accountDeleted, actor: actor, itemID: id.raw.text)
    }

    /// Enables a disabled account again: it can log in with its password and second factor. Its sessions, deleted
    /// by ``disableAccount(_:actor:)``, stay ended; its API tokens that were not revoked work again (disabling
    /// only suspends them). Audits ``AuditEvent/accountEnabled``.
    public func enableAccount(_ id: AccountID, actor: AccountID?) throws {
        try db.cachedStatement(sql: "UPDATE account SET disabled = 0 WHERE id = ?").execute(arguments: [id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        try recordAccess(.accountEnabled, actor: actor, itemID: id.raw.text)
    }

    /// Sets a new password hash, removes the second factor (the user enrols again at the next login), ends
    /// every session of the account and revokes its API tokens. A disabled account stays disabled. Audits
    /// ``AuditEvent/accountReset``.
    public func resetPassword(of id: AccountID, passwordHash: String, actor: AccountID?) throws {
        guard Self.looksLikeBcrypt(passwordHash) else { throw ThreadStoreError.invalidValue }
        try db.cachedStatement(sql: """
            UPDATE account SET password_hash = ?, password_changed_at = ?, totp_secret_sealed = NULL,
                               totp_last_step = NULL, password_must_change = 1
            WHERE id = ?
            """).execute(arguments: [passwordHash, now.storeMilliseconds, id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        // A reset is also the answer to a compromised account: its API tokens are revoked too.
        try AccountRows.endSessionsAndRevokeTokens(db, of: id, at: now)
        try recordAccess(.accountReset, actor: actor, itemID: id.raw.text)
    }

    /// The account's own password change (web inbox): sets the new hash, clears ``Account/mustChangePassword`` and
    /// ends every other session of the account (the one of cookie token `keptSession` stays). The second factor
    /// and API tokens stay. Audits ``AuditEvent/passwordChanged`` with the account as actor.
    public func changeOwnPassword(of id: AccountID, passwordHash: String, keptSession: String) throws {
        guard Self.looksLikeBcrypt(passwordHash) else { throw ThreadStoreError.invalidValue }
        try db.cachedStatement(sql: """
            UPDATE account SET password_hash = ?, password_changed_at = ?, password_must_change = 0 WHERE id = ?
            """).execute(arguments: [passwordHash, now.storeMilliseconds, id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        try AccountRows.deleteSessions(db, of: id, except: keptSession)
        try recordAccess(.passwordChanged, actor: id, itemID: id.raw.text)
    }

    /// Replaces the counselling fields of an account. Audits ``AuditEvent/accountFieldsChanged``.
    public func setFields(_ fields: Set<CounsellingField>, of id: AccountID, actor: AccountID?) throws {
        try AccountRows.requireAccount(db, id)
        try AccountRows.replaceFields(db, id, fields)
        try recordAccess(.accountFieldsChanged, actor: actor, itemID: id.raw.text, count: fields.count)
    }

    /// Sets what an account may do: its role and whether it administers its organisation (the caller sets its
    /// fields with it). Audits ``AuditEvent/accountRoleChanged`` with the new values as count
    /// (``AuditEvent/roleChangeCount(_:administers:)``).
    public func setRole(_ role: CounsellorRole, administers: Bool, of id: AccountID, actor: AccountID?) throws {
        try db.cachedStatement(sql: "UPDATE account SET role = ?, administers = ? WHERE id = ?")
            .execute(arguments: [role.rawValue, administers, id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        try recordAccess(.accountRoleChanged, actor: actor, itemID: id.raw.text,
                         count: AuditEvent.roleChangeCount(role, administers: administers))
    }

    /// Unassigns the threads assigned to `id` whose field is not in `fields` (each audited as
    /// ``AuditEvent/threadAssigned`` to nobody) and drops its pending digest counts of other fields; returns how
    /// many threads. No fields: every thread of the account (a deleted
    /// account, a move to another organisation). The gateway runs it at start for every account
    /// of an installation with organisations (issue 29), so that after a field changed hands no account keeps a
    /// thread, or its notices, of another organisation.
    @discardableResult
    public func unassignThreads(of id: AccountID, outside fields: Set<CounsellingField>, actor: AccountID?) throws
        -> Int
    {
        let assigned = try String.fetchAll(
            db.cachedStatement(sql: """
                SELECT id FROM thread WHERE assigned_to = ? AND field NOT IN (SELECT value FROM json_each(?))
                ORDER BY id
                """),
            arguments: [id.raw.text, CounsellingField.jsonArray(fields)])
        for thread in assigned { try assign(try ThreadID(thread), to: nil, actor: actor) }
        // Its digest counts of those fields go with them: a digest counts its own threads only.
        try db.cachedStatement(sql: """
            DELETE FROM notice_pending
            WHERE recipient_kind = 1 AND recipient = ? AND field NOT IN (SELECT value FROM json_each(?))
            """).execute(arguments: [id.raw.text, CounsellingField.jsonArray(fields)])
        return assigned.count
    }

    /// Moves an account into `organisation` (nil: into none, the implicit one). Nothing it held for the old
    /// organisation carries over: its sessions end, its API tokens are revoked (a platform's token of the old
    /// organisation must not open the new one's threads), its threads become unassigned (each audited) and its
    /// pending digest counts are dropped, so that no notice about the old organisation's threads reaches it; and in
    /// the same step it becomes a counsellor without fields that administers nothing (its new organisation's
    /// administrator gives it its role). Audits ``AuditEvent/accountOrganisationChanged``.
    public func setOrganisation(_ organisation: OrganisationID?, of id: AccountID, actor: AccountID?) throws {
        guard try AccountRows.setOrganisation(db, id, organisation) else { throw ThreadStoreError.accountNotFound }
        try unassignThreads(of: id, outside: [], actor: actor)
        try AccountRows.endSessionsAndRevokeTokens(db, of: id, at: now)
        try db.cachedStatement(sql: "DELETE FROM notice_pending WHERE recipient_kind = 1 AND recipient = ?")
            .execute(arguments: [id.raw.text])
        try recordAccess(.accountOrganisationChanged, actor: actor, itemID: id.raw.text)
    }

    /// Stores the TOTP shared secret of an account, sealed (ChaCha20-Poly1305 under a key derived from the master
    /// key, bound to the account row), and records `acceptedStep` (the step of the code that confirmed the
    /// enrolment) as used. Audits ``AuditEvent/secondFactorEnrolled`` with the account as actor.
    public func enrolSecondFactor(secret: String, acceptedStep: Int64, for id: AccountID) throws {
        guard !secret.isEmpty, secret.utf8.count <= 256 else { throw ThreadStoreError.invalidValue }
        let sealed = try Sealing.sealString(
            secret, key: context.keys.accountSecrets, context: AccountRows.sealContext(id))
        try db.cachedStatement(sql: "UPDATE account SET totp_secret_sealed = ?, totp_last_step = ? WHERE id = ?")
            .execute(arguments: [sealed, acceptedStep, id.raw.text])
        guard db.changesCount == 1 else { throw ThreadStoreError.accountNotFound }
        try recordAccess(.secondFactorEnrolled, actor: id, itemID: id.raw.text)
    }

    /// Atomically marks TOTP time step `step` as used by the account: returns true if no code of this or a later
    /// step was accepted before (RFC 6238 §5.2, no second use of an OTP), else false and changes nothing.
    public func acceptTOTPStep(_ step: Int64, for id: AccountID) throws -> Bool {
        try db.cachedStatement(sql: """
            UPDATE account SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)
            """).execute(arguments: [step, id.raw.text, step])
        return db.changesCount == 1
    }

    /// Starts a browser session for an account: returns a random 256-bit cookie token (only its SHA-256 is
    /// stored) and a random CSRF token. The session ends at `now + lifetime` at the latest.
    public func createWebSession(
        for id: AccountID, secondFactorDone: Bool, now: Date, lifetime: TimeInterval
    ) throws -> NewWebSession {
        try AccountRows.requireAccount(db, id)
        let token = AccountRows.randomToken()
        let csrf = AccountRows.randomToken()
        let expires = now + lifetime
        try db.cachedStatement(sql: """
            INSERT INTO web_session (token_hash, account_id, csrf_token, second_factor_done, created_at, last_seen_at,
                                     expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                AccountRows.tokenHash(token), id.raw.text, csrf, secondFactorDone, now.storeMilliseconds,
                now.storeMilliseconds, expires.storeMilliseconds,
            ])
        return NewWebSession(token: token, csrfToken: csrf, expiresAt: expires)
    }

    /// Looks up the session of a cookie token and records the request (`last_seen_at = now`). A session that
    /// passed its absolute end or was idle for `idleTimeout` is deleted and audited as ``AuditEvent/loggedOut``
    /// (`count` 1: timeout); one of a disabled account is deleted. Returns nil in every such case.
    public func authenticateWebSession(token: String, now: Date, idleTimeout: TimeInterval) throws -> WebSession? {
        guard var (session, _) = try reader.findSession(token: token) else { return nil }
        guard ReadTransaction.isLive(session, now: now, idleTimeout: idleTimeout) else {
            try deleteSession(hash: AccountRows.tokenHash(token))
            if !session.account.isDisabled {
                try recordAccess(.loggedOut, actor: session.account.id, count: LogoutReason.timeout)
            }
            return nil
        }
        try db.cachedStatement(sql: "UPDATE web_session SET last_seen_at = ? WHERE token_hash = ?")
            .execute(arguments: [now.storeMilliseconds, AccountRows.tokenHash(token)])
        session.lastSeenAt = now
        return session
    }

    /// Deletes the session of a cookie token; returns its account, or nil if there was none. Does not audit
    /// (the caller records ``AuditEvent/loggedOut`` or ``AuditEvent/loginSucceeded`` as fits).
    @discardableResult
    public func deleteWebSession(token: String) throws -> AccountID? {
        guard token.utf8.count == 64,
            let id = try String.fetchOne(
                db.cachedStatement(sql: "SELECT account_id FROM web_session WHERE token_hash = ?"),
                arguments: [AccountRows.tokenHash(token)])
        else { return nil }
        try deleteSession(hash: AccountRows.tokenHash(token))
        return try AccountID(id)
    }

    /// Deletes every session of an account; returns how many.
    @discardableResult
    public func deleteWebSessions(of id: AccountID) throws -> Int {
        try AccountRows.deleteSessions(db, of: id)
        return db.changesCount
    }

    /// Deletes every session that passed its absolute end or was idle for `idleTimeout`; returns how many.
    @discardableResult
    public func purgeExpiredWebSessions(now: Date, idleTimeout: TimeInterval) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM web_session WHERE expires_at <= ? OR last_seen_at <= ?")
            .execute(arguments: [now.storeMilliseconds, (now - idleTimeout).storeMilliseconds])
        return db.changesCount
    }

    /// Creates an API token for an account: `mbt_` + 64 random hex characters, returned once; only its SHA-256 is
    /// stored. Audits ``AuditEvent/apiTokenCreated`` (`itemID`: the token's ID).
    /// - Throws: ``ThreadStoreError/invalidValue`` for a label that is empty, longer than 64 characters or holds
    ///   control characters; ``ThreadStoreError/accountNotFound``.
    public func createAPIToken(for id: AccountID, label: String, actor: AccountID?) throws -> NewAPIToken {
        guard NewAPIToken.isValidLabel(label) else { throw ThreadStoreError.invalidValue }
        try AccountRows.requireAccount(db, id)
        let generated = NewAPIToken.generate()
        let (tokenID, token) = (generated.id, generated.token)
        try db.cachedStatement(sql: """
            INSERT INTO api_token (id, token_hash, account_id, label, created_at) VALUES (?, ?, ?, ?, ?)
            """).execute(arguments: [
                tokenID.raw.text, AccountRows.tokenHash(token), id.raw.text, label, now.storeMilliseconds,
            ])
        try recordAccess(.apiTokenCreated, actor: actor, itemID: tokenID.raw.text)
        return NewAPIToken(id: tokenID, token: token)
    }

    /// Revokes an API token (revoking twice keeps the first time). Audits ``AuditEvent/apiTokenRevoked``.
    public func revokeAPIToken(_ id: APITokenID, actor: AccountID?) throws {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM api_token WHERE id = ?)"),
                arguments: [id.raw.text]) == true
        else { throw ThreadStoreError.apiTokenNotFound }
        try db.cachedStatement(sql: "UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .execute(arguments: [now.storeMilliseconds, id.raw.text])
        try recordAccess(.apiTokenRevoked, actor: actor, itemID: id.raw.text)
    }

    private func deleteSession(hash: Data) throws {
        try db.cachedStatement(sql: "DELETE FROM web_session WHERE token_hash = ?").execute(arguments: [hash])
    }

    /// A bcrypt hash in modular crypt format (`$2a$`, `$2b$` or `$2y$`, 60 characters), so a clear password
    /// passed by mistake is refused rather than stored.
    static func looksLikeBcrypt(_ hash: String) -> Bool {
        hash.utf8.count == 60 && (hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$"))
    }
}

/// The `count` of a ``AuditEvent/loggedOut`` entry.
public enum LogoutReason {
    /// The user logged out.
    public static let logout = 0
    /// The session timed out (idle or absolute).
    public static let timeout = 1
}
