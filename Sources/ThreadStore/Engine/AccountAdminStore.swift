// Security: the administration of counsellor accounts and API tokens, on any engine (the `mailbridge users` and
// `tokens` commands). Passwords arrive only as bcrypt hashes; an API token's secret is made here from the system's
// CSPRNG, returned once, and stored as its SHA-256 only. Every change is audited with the actor and channel.

public import Foundation

/// The account administration's transactions (issue 21). ``ThreadStoreAccountAdmin`` runs the
/// `WriteTransaction+Accounts.swift` methods on SQLite (deletion through ``ThreadStore/deleteAccount(_:actor:via:)``,
/// which also clears the WAL); `PostgresWebState` (StorePostgres) the same steps on PostgreSQL.
public protocol AccountAdminStore: Sendable {
    /// ``WriteTransaction/disableAccount(_:actor:)``: also ends its sessions.
    func disableAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws
    /// ``WriteTransaction/enableAccount(_:actor:)``.
    func enableAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws
    /// ``WriteTransaction/deleteAccount(_:actor:)``: its threads become unassigned (each audited).
    func deleteAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws
    /// ``WriteTransaction/setFields(_:of:actor:)``.
    func setFields(_ fields: Set<CounsellingField>, of id: AccountID, actor: AccountID?, via channel: AuditChannel?)
        async throws
    /// What an account may do, in one transaction: ``WriteTransaction/setRole(_:administers:of:actor:)``, then
    /// ``WriteTransaction/setFields(_:of:actor:)``, then (a counsellor) its threads outside `fields` unassigned.
    /// Only while the account belongs to `organisation` (nil: none), checked in the same transaction, else
    /// ``ThreadStoreError/accountNotFound``: an account moved away meanwhile is not changed for its old one.
    func setRole(_ role: CounsellorRole, administers: Bool, fields: Set<CounsellingField>, of id: AccountID,
                 in organisation: OrganisationID?, actor: AccountID?, via channel: AuditChannel?) async throws
    /// ``WriteTransaction/resetPassword(of:passwordHash:actor:)`` (removes the second factor, ends the sessions and
    /// revokes the API tokens), only while the account belongs to `organisation` (nil: none), checked in the same
    /// transaction, else ``ThreadStoreError/accountNotFound``: whoever resets names the organisation it read the
    /// account in, so an account moved away at the same moment is not handed a password for its old one.
    func resetPassword(of id: AccountID, passwordHash: String, in organisation: OrganisationID?, actor: AccountID?,
                       via channel: AuditChannel?) async throws
    /// ``WriteTransaction/setOrganisation(_:of:actor:)``: also ends its sessions.
    func setOrganisation(_ organisation: OrganisationID?, of id: AccountID, actor: AccountID?,
                         via channel: AuditChannel?) async throws
    /// ``WriteTransaction/unassignThreads(of:outside:actor:)``: returns how many threads it unassigned.
    func unassignThreads(of id: AccountID, outside fields: Set<CounsellingField>, actor: AccountID?,
                         via channel: AuditChannel?) async throws -> Int
    /// ``WriteTransaction/createAPIToken(for:label:actor:)``.
    func createAPIToken(for id: AccountID, label: String, actor: AccountID?, via channel: AuditChannel?) async throws
        -> NewAPIToken
    /// ``ReadTransaction/apiTokens()``.
    func apiTokens() async throws -> [APITokenInfo]
    /// ``WriteTransaction/revokeAPIToken(_:actor:)``.
    func revokeAPIToken(_ id: APITokenID, actor: AccountID?, via channel: AuditChannel?) async throws
}

/// ``AccountAdminStore`` over a ``ThreadStore`` (SQLite).
public struct ThreadStoreAccountAdmin: AccountAdminStore {
    public let store: ThreadStore

    public init(_ store: ThreadStore) { self.store = store }

    public func disableAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in try tx.disableAccount(id, actor: actor) }
    }

    public func enableAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in try tx.enableAccount(id, actor: actor) }
    }

    public func deleteAccount(_ id: AccountID, actor: AccountID?, via channel: AuditChannel?) async throws {
        try await store.deleteAccount(id, actor: actor, via: channel)
    }

    public func setFields(_ fields: Set<CounsellingField>, of id: AccountID, actor: AccountID?,
                          via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in try tx.setFields(fields, of: id, actor: actor) }
    }

    public func setRole(_ role: CounsellorRole, administers: Bool, fields: Set<CounsellingField>, of id: AccountID,
                        in organisation: OrganisationID?, actor: AccountID?, via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in
            guard try tx.account(id)?.organisation == organisation else { throw ThreadStoreError.accountNotFound }
            try tx.setRole(role, administers: administers, of: id, actor: actor)
            try tx.setFields(fields, of: id, actor: actor)
            if role == .counsellor { try tx.unassignThreads(of: id, outside: fields, actor: actor) }
        }
    }

    public func setOrganisation(_ organisation: OrganisationID?, of id: AccountID, actor: AccountID?,
                                via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in try tx.setOrganisation(organisation, of: id, actor: actor) }
    }

    public func unassignThreads(of id: AccountID, outside fields: Set<CounsellingField>, actor: AccountID?,
                                via channel: AuditChannel?) async throws -> Int {
        try await store.write(via: channel) { tx in try tx.unassignThreads(of: id, outside: fields, actor: actor) }
    }

    public func resetPassword(of id: AccountID, passwordHash: String, in organisation: OrganisationID?,
                              actor: AccountID?, via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in
            guard try tx.account(id)?.organisation == organisation else { throw ThreadStoreError.accountNotFound }
            try tx.resetPassword(of: id, passwordHash: passwordHash, actor: actor)
        }
    }

    public func createAPIToken(for id: AccountID, label: String, actor: AccountID?, via channel: AuditChannel?)
        async throws -> NewAPIToken
    {
        try await store.write(via: channel) { tx in try tx.createAPIToken(for: id, label: label, actor: actor) }
    }

    public func apiTokens() async throws -> [APITokenInfo] {
        try await store.read { tx in try tx.apiTokens() }
    }

    public func revokeAPIToken(_ id: APITokenID, actor: AccountID?, via channel: AuditChannel?) async throws {
        try await store.write(via: channel) { tx in try tx.revokeAPIToken(id, actor: actor) }
    }
}

extension NewAPIToken {
    /// A new token: a random ID and `mbt_` + 64 hex characters from the system's CSPRNG (as the SQLite engine
    /// makes them).
    public static func generate() -> NewAPIToken {
        NewAPIToken(id: APITokenID.random(), token: "mbt_" + AccountRows.randomToken())
    }

    /// Whether an API token label is acceptable: 1–64 characters, no control characters.
    public static func isValidLabel(_ label: String) -> Bool {
        !label.isEmpty && label.count <= 64 && !label.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}

extension APITokenInfo {
    /// A token as an engine read it.
    public static func stored(id: APITokenID, accountID: AccountID, username: String, label: String, createdAt: Date,
                              revokedAt: Date?) -> APITokenInfo {
        APITokenInfo(id: id, accountID: accountID, username: username, label: label, createdAt: createdAt,
                     revokedAt: revokedAt)
    }
}
