// Security: `mailbridge users …` and `tokens …` manage counsellor accounts on the server. Passwords arrive on
// standard input (or are generated) and API tokens are generated; each is printed once to standard output for
// the administrator and never logged, stored in clear or put in an error message. Errors name no user name.
// Every change is audited by ThreadStore (actor: none, the server administrator).

import Foundation
import ThreadStore

/// `mailbridge users add|list|disable|reset`.
///
/// ```swift
/// let result = await AdminSession.run(configFile: config, logger: logger) { installation in
///     try await UsersAdmin.add(installation, username: "anna", displayName: "Anna B.", role: "counsellor",
///                              fields: ["sucht"], language: nil, password: nil)
/// }
/// ```
public enum UsersAdmin {
    struct ListedAccount: Encodable {
        var id: String
        var username: String
        var displayName: String
        var role: String
        var language: String
        var fields: [String]
        var disabled: Bool
        var secondFactor: Bool
        var createdAt: Date
        var passwordChangedAt: Date
        var passwordChangePending: Bool
        var organisation: String?
        var administers: Bool
    }

    /// The role names of the command line: `administrator` is an organisation's administrator who reads no thread
    /// (a counsellor without fields that administers). "admin" is refused: it could mean a team lead or that.
    static func role(_ name: String) throws -> (CounsellorRole, administrator: Bool) {
        switch name.lowercased() {
        case "counsellor", "counselor": return (.counsellor, false)
        case "teamlead", "team-lead": return (.teamLead, false)
        case "administrator": return (.counsellor, true)
        default: throw AdminUsageError("--role must be counsellor, teamlead or administrator")
        }
    }

    /// An account's role as the command line names it: `teamlead`, `counsellor` or `administrator` (reads no
    /// thread), with `+administrator` for a team lead or counsellor that also administers.
    static func roleName(_ account: Account) -> String {
        roleName(account.role, readsThreads: account.readsThreads, administers: account.administers)
    }

    static func roleName(_ role: CounsellorRole, readsThreads: Bool, administers: Bool) -> String {
        if administers, !readsThreads { return "administrator" }
        return (role == .teamLead ? "teamlead" : "counsellor") + (administers ? "+administrator" : "")
    }

    /// With `[[organisation]]` (issue 29) the command line belongs to the installation's administrator, who must
    /// reach no organisation's content: it never sets a password for an account that reads threads. The
    /// organisation's own administrator does that in the web inbox. Decided by the account as stored (it belongs
    /// to an organisation) as well as by the configuration, so a copy of the file without `[[organisation]]` does
    /// not lift it.
    static func refuseContentAccess(_ account: Account, _ installation: OpenedInstallation, doing what: String)
        throws
    {
        guard account.readsThreads, isOrganised(account, installation) else { return }
        throw AdminFailure("the account reads threads: with [[organisation]], \(what) is its organisation's "
            + "administrator's task, in the web inbox (/admin/accounts)")
    }

    /// Whether `account` is under the organisations' rules: it belongs to one, or the configuration has any.
    static func isOrganised(_ account: Account, _ installation: OpenedInstallation) -> Bool {
        account.organisation != nil || !installation.configuration.organisationDirectory.isImplicit
    }

    /// Validates a password from standard input, or generates one (`generated` tells which).
    static func password(_ given: String?) throws -> (password: String, generated: Bool) {
        guard let given else { return (PasswordPolicy.generate(), true) }
        let verdict = PasswordPolicy.check(given)
        guard verdict == .acceptable else { throw AdminUsageError(PasswordPolicy.explanation(verdict)) }
        return (given, false)
    }

    /// The configured fields named by `names`; refuses names that are no configured mailbox's field, and with
    /// organisations (issue 29) names that are not a field of `organisation`.
    static func fields(_ names: [String], installation: OpenedInstallation,
                       organisation: OrganisationID? = nil) throws -> Set<CounsellingField> {
        var configured = Set(installation.mailboxes.map(\.field))
        if let organisation, let owned = installation.configuration.organisationDirectory.fields(of: organisation) {
            configured.formIntersection(owned)
        }
        var fields = Set<CounsellingField>()
        for name in names {
            guard let field = try? CounsellingField(name), configured.contains(field) else {
                let known = configured.map(\.rawValue).sorted().joined(separator: ", ")
                let whose = organisation == nil ? "a configured mailbox" : "a mailbox of the account's organisation"
                throw AdminUsageError("--field must name the field of \(whose) (configured: \(known))")
            }
            fields.insert(field)
        }
        return fields
    }

    static func account(named username: String, in installation: OpenedInstallation) async throws -> Account {
        guard Account.isValidUsername(username) else {
            throw AdminUsageError("the user name must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -")
        }
        guard let account = try await installation.stores.webState.account(named: username) else {
            throw AdminFailure("no account with this user name exists (see `mailbridge users list`)")
        }
        return account
    }

    /// The organisation `name` names, checked against the configuration: required with `[[organisation]]`,
    /// refused without.
    static func organisation(_ name: String?, installation: OpenedInstallation) throws -> OrganisationID? {
        let directory = installation.configuration.organisationDirectory
        guard let name else {
            guard directory.isImplicit else {
                throw AdminUsageError("--organisation is required: the configuration has [[organisation]] tables ("
                    + directory.organisations.map(\.id.rawValue).joined(separator: ", ") + ")")
            }
            return nil
        }
        guard !directory.isImplicit else {
            throw AdminUsageError("--organisation needs an [[organisation]] table in the configuration; it has none")
        }
        guard let id = try? OrganisationID(name), directory.organisation(id) != nil else {
            throw AdminUsageError("--organisation must be the id of a configured [[organisation]] ("
                + directory.organisations.map(\.id.rawValue).joined(separator: ", ") + ")")
        }
        return id
    }

    /// Creates an account. Without `password` a strong one is generated and printed once.
    public static func add(
        _ installation: OpenedInstallation, username: String, displayName: String, role: String, fields: [String],
        language: String?, password: String?, organisation: String? = nil, administrator: Bool = false,
        bcryptCost: UInt8 = 12
    ) async throws -> AdminResult {
        guard Account.isValidUsername(username) else {
            throw AdminUsageError("the user name must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -")
        }
        guard Account.isValidDisplayName(displayName) else {
            throw AdminUsageError("--display-name must be 1 to 128 characters without control characters")
        }
        let (role, administratorOnly) = try Self.role(role)
        if administratorOnly {
            guard fields.isEmpty else { throw AdminUsageError("an administrator has no --field (it reads no thread)") }
        } else if fields.isEmpty, role == .counsellor {
            throw AdminUsageError("a counsellor needs at least one --field")
        }
        let administers = administratorOnly || administrator
        let organisation = try Self.organisation(organisation, installation: installation)
        guard organisation == nil || administratorOnly else {
            throw AdminUsageError("with [[organisation]], the command line makes only an organisation's "
                + "administrator (--role administrator, no thread); its counsellors and team leads are made by that "
                + "administrator in the web inbox (/admin/accounts)")
        }
        let fieldSet = try Self.fields(fields, installation: installation, organisation: organisation)
        var interfaceLanguage = InterfaceLanguage.german
        if let language {
            guard let parsed = InterfaceLanguage(rawValue: language) else {
                throw AdminUsageError("--language must be de or en")
            }
            interfaceLanguage = parsed
        }
        let (password, generated) = try Self.password(password)
        let hash = try await PasswordHasher(cost: bcryptCost).hash(password)
        let new = NewAccount(username: username, displayName: displayName, role: role, language: interfaceLanguage,
                             fields: fieldSet, passwordHash: hash, mustChangePassword: true,
                             organisation: organisation, administers: administers)
        let id: AccountID
        do {
            id = try await installation.stores.webState.createAccount(new, actor: nil, via: .commandLine)
        } catch let error as ThreadStoreError where error == .accountExists {
            throw AdminFailure("an account with this user name exists already (names ignore case)")
        }
        let name = roleName(role, readsThreads: role.readsThreads(in: fieldSet), administers: administers)
        var output = "created account \(id.unredactedDescription) (\(name))"
        if generated { output += "\ninitial password (shown once): \(password)" }
        return AdminResult(output: output)
    }

    /// Every account (or those of `organisation`): names, roles, fields, organisation, state. No secrets.
    public static func list(_ installation: OpenedInstallation, json: Bool, organisation: String? = nil)
        async throws -> AdminResult
    {
        var accounts = try await installation.stores.inbox.accounts()
        if let organisation {
            let id = try Self.organisation(organisation, installation: installation)
            accounts = accounts.filter { $0.organisation == id }
        }
        let listed = accounts.map {
            ListedAccount(id: $0.id.unredactedDescription, username: $0.username, displayName: $0.displayName,
                          role: roleName($0), language: $0.language.rawValue,
                          fields: $0.fields.map(\.rawValue).sorted(), disabled: $0.isDisabled,
                          secondFactor: $0.hasSecondFactor, createdAt: $0.createdAt,
                          passwordChangedAt: $0.passwordChangedAt, passwordChangePending: $0.mustChangePassword,
                          organisation: $0.organisation?.rawValue, administers: $0.administers)
        }
        if json { return AdminResult(output: try AdminSession.json(listed)) }
        let lines = listed.map {
            "\($0.username)  \($0.role)  fields: \($0.fields.isEmpty ? "-" : $0.fields.joined(separator: ","))  "
                + "language: \($0.language)  2fa: \($0.secondFactor ? "yes" : "no")"
                + ($0.passwordChangePending ? "  password change pending" : "")
                + ($0.disabled ? "  DISABLED" : "") + ($0.organisation.map { "  organisation: \($0)" } ?? "")
                + "  id: \($0.id)"
        }
        return AdminResult(output: lines.isEmpty ? "no accounts" : lines.joined(separator: "\n"))
    }

    /// Disables an account; its sessions end and its API tokens stop working.
    public static func disable(_ installation: OpenedInstallation, username: String) async throws -> AdminResult {
        let account = try await account(named: username, in: installation)
        try await installation.stores.accounts.disableAccount(account.id, actor: nil, via: .commandLine)
        return AdminResult(output: "disabled account \(account.id.unredactedDescription); its sessions ended")
    }

    /// Deletes an account for good (`confirmed`: the `--yes` flag). Its threads stay; assignments to it are removed.
    public static func delete(_ installation: OpenedInstallation, username: String, confirmed: Bool) async throws
        -> AdminResult
    {
        guard confirmed else {
            throw AdminUsageError("deleting an account cannot be undone; add --yes (or use `users disable`)")
        }
        let account = try await account(named: username, in: installation)
        try await installation.stores.accounts.deleteAccount(account.id, actor: nil, via: .commandLine)
        return AdminResult(output: "deleted account \(account.id.unredactedDescription); its sessions and API tokens "
            + "ended, its thread assignments were removed")
    }

    /// Enables a disabled account again.
    public static func enable(_ installation: OpenedInstallation, username: String) async throws -> AdminResult {
        let account = try await account(named: username, in: installation)
        try await installation.stores.accounts.enableAccount(account.id, actor: nil, via: .commandLine)
        return AdminResult(output: "enabled account \(account.id.unredactedDescription)")
    }

    /// Replaces the counselling fields of an account (each must be a configured mailbox's field).
    public static func setFields(_ installation: OpenedInstallation, username: String, fields: [String]) async throws
        -> AdminResult
    {
        let account = try await account(named: username, in: installation)
        guard !fields.isEmpty || account.role == .teamLead || account.administers else {
            throw AdminUsageError("a counsellor needs at least one --field")
        }
        if isOrganised(account, installation) {
            throw AdminFailure("with [[organisation]], an account's fields are its organisation's administrator's "
                + "task, in the web inbox (/admin/accounts)")
        }
        guard installation.configuration.organisationDirectory.reach(of: account.organisation) != nil else {
            throw AdminUsageError("the account belongs to no configured organisation: give it one and its fields "
                + "with `mailbridge users move NAME --organisation ID --field FIELD`")
        }
        let fieldSet = try Self.fields(fields, installation: installation, organisation: account.organisation)
        try await installation.stores.accounts.setFields(fieldSet, of: account.id, actor: nil, via: .commandLine)
        return AdminResult(output: "account \(account.id.unredactedDescription) now works in: "
                           + (fieldSet.isEmpty ? "-" : fieldSet.map(\.rawValue).sorted().joined(separator: ", ")))
    }

    /// Moves an account into another organisation (issue 29). Nothing it could do carries over: its sessions
    /// end, its tokens are revoked, its threads unassigned, and it arrives reading no thread and administering
    /// nothing (a counsellor without fields); the new organisation's administrator gives it its role and fields.
    /// So the command line, which may know the account's password, never hands an organisation's threads to
    /// anyone. Refused on an installation without `[[organisation]]`, and into the organisation it is in.
    public static func move(_ installation: OpenedInstallation, username: String, organisation: String,
                            fields: [String]) async throws -> AdminResult {
        let account = try await account(named: username, in: installation)
        let target = try Self.organisation(organisation, installation: installation)
        guard fields.isEmpty else {
            throw AdminUsageError("--field is not taken: the account arrives without fields and role; its new "
                + "organisation's administrator gives them in the web inbox (/admin/accounts)")
        }
        guard account.organisation != target else {
            throw AdminUsageError("the account belongs to \(organisation) already")
        }
        // One transaction: it arrives stripped (a counsellor without fields that administers nothing).
        try await installation.stores.accounts.setOrganisation(target, of: account.id, actor: nil, via: .commandLine)
        return AdminResult(output: "account \(account.id.unredactedDescription) now belongs to "
                           + (target?.rawValue ?? "-") + " and reads no thread until its administrator gives it a "
                           + "role or fields; its sessions ended, its API tokens were revoked")
    }

    /// Sets a new password (from standard input, or generated and printed once), removes the second factor and
    /// ends every session.
    public static func reset(
        _ installation: OpenedInstallation, username: String, password: String?, bcryptCost: UInt8 = 12
    ) async throws -> AdminResult {
        let account = try await account(named: username, in: installation)
        try refuseContentAccess(account, installation, doing: "a password reset")
        let (password, generated) = try Self.password(password)
        let hash = try await PasswordHasher(cost: bcryptCost).hash(password)
        try await installation.stores.accounts.resetPassword(of: account.id, passwordHash: hash,
                                                             in: account.organisation, actor: nil,
                                                             via: .commandLine)
        var output = "reset account \(account.id.unredactedDescription): second factor removed (enrol again at the "
            + "next login), sessions ended"
        if generated { output += "\nnew password (shown once): \(password)" }
        return AdminResult(output: output)
    }
}

/// `mailbridge tokens add|list|revoke`: API tokens for a platform integration.
public enum TokensAdmin {
    struct ListedToken: Encodable {
        var id: String
        var username: String
        var label: String
        var createdAt: Date
        var revokedAt: Date?
    }

    /// Creates a token acting as the account; prints it once.
    public static func add(_ installation: OpenedInstallation, username: String, label: String) async throws
        -> AdminResult
    {
        let account = try await UsersAdmin.account(named: username, in: installation)
        // A token acts as its account unseen, for as long as it lives, whatever the account becomes: with
        // organisations only the organisation's administrator makes one.
        if UsersAdmin.isOrganised(account, installation) {
            throw AdminFailure("with [[organisation]], API tokens are made by the organisation's administrator, in "
                + "the web inbox (/admin/accounts)")
        }
        guard !account.isDisabled else {
            throw AdminFailure("the account is disabled (`mailbridge users enable` first)")
        }
        guard !label.isEmpty, label.count <= 64, !label.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw AdminUsageError("--label must be 1 to 64 characters without control characters")
        }
        let token = try await installation.stores.accounts.createAPIToken(for: account.id, label: label, actor: nil,
                                                                          via: .commandLine)
        return AdminResult(output: "created API token \(token.id.unredactedDescription)\n"
                           + "token (shown once; send as Authorization: Bearer …): \(token.token)")
    }

    /// Every token (IDs, accounts, labels, dates); never a secret.
    public static func list(_ installation: OpenedInstallation, json: Bool) async throws -> AdminResult {
        let tokens = try await installation.stores.accounts.apiTokens()
        let listed = tokens.map {
            ListedToken(id: $0.id.unredactedDescription, username: $0.username, label: $0.label,
                        createdAt: $0.createdAt, revokedAt: $0.revokedAt)
        }
        if json { return AdminResult(output: try AdminSession.json(listed)) }
        let lines = listed.map {
            "\($0.id)  \($0.username)  \($0.label)  created: \(ISO8601DateFormatter().string(from: $0.createdAt))"
                + ($0.revokedAt.map { "  revoked: \(ISO8601DateFormatter().string(from: $0))" } ?? "")
        }
        return AdminResult(output: lines.isEmpty ? "no API tokens" : lines.joined(separator: "\n"))
    }

    /// Revokes a token by its ID.
    public static func revoke(_ installation: OpenedInstallation, id: String) async throws -> AdminResult {
        guard let tokenID = try? APITokenID(id) else { throw AdminUsageError("the token ID must be 32 hex characters") }
        do {
            try await installation.stores.accounts.revokeAPIToken(tokenID, actor: nil, via: .commandLine)
        } catch let error as ThreadStoreError where error == .apiTokenNotFound {
            throw AdminFailure("no API token with this ID exists (see `mailbridge tokens list`)")
        }
        return AdminResult(output: "revoked API token \(tokenID.unredactedDescription)")
    }
}

/// A failure of an admin command with a content-free message (exit 1).
public struct AdminFailure: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
