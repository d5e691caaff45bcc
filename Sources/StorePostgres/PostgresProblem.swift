/// What is wrong with a PostgreSQL store, in words an administrator can act on (`mailbridge check-config`, the
/// gateway's start). A closed enum: every caller decides for every case. Descriptions name configuration (host,
/// port, user, database) and versions, never a password or a server message (which may quote data).
public enum PostgresProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The password file is missing, unreadable or empty.
    case passwordFileUnreadable(path: String)
    /// The `ca-file` could not be loaded as PEM certificates.
    case caFileUnreadable(path: String)
    /// No connection to `host:port` (refused, no route, name not resolved, timeout).
    case unreachable(hostAndPort: String)
    /// `verify-full`, but the server does not offer TLS (`ssl = off`).
    case serverWithoutTLS(hostAndPort: String)
    /// The server's certificate is not for the configured host name.
    case tlsNameMismatch(host: String)
    /// The server's certificate does not chain to a trusted root (or has expired).
    case tlsCertificateUntrusted(hostAndPort: String)
    /// The TLS handshake failed for another reason.
    case tlsFailed(hostAndPort: String)
    /// The server refused the user: wrong password, unknown role, or no `pg_hba.conf` line allows it.
    case authenticationFailed(user: String)
    /// The database does not exist on the server.
    case databaseMissing(database: String)
    /// The database holds a MailBridge schema newer than this binary knows: an upgraded node migrated it.
    case schemaNewerThanBinary(found: Int, supported: Int)
    /// The database's schema history does not match this binary's migrations (another program's table of the
    /// same name, or a schema from a development build).
    case schemaMismatch(version: Int)
    /// The schema is older than this binary (or absent) and the configured role may not migrate it: it does not own
    /// the schema (docs/postgresql.md, "Two roles"). The schema's owner runs `mailbridge store migrate-schema`.
    case schemaNeedsMigration(found: Int, supported: Int, user: String)
    /// `mailbridge store migrate-schema` was to grant rights to a role the server does not know.
    case roleMissing(role: String)
    /// The server answered with an error this check does not name (its SQLSTATE code, RFC-less: PostgreSQL
    /// Appendix A).
    case serverError(sqlState: String)
    /// The role may not do what only the schema's owner may (`VACUUM`): the command needs `migration-user`.
    case notSchemaOwner(user: String)
    /// The connection broke in an unexpected way.
    case connectionFailed(hostAndPort: String)

    public var description: String {
        switch self {
        case .passwordFileUnreadable(let path):
            return "the password file \(path) is missing, unreadable or empty"
        case .caFileUnreadable(let path):
            return "the CA file \(path) could not be read as PEM certificates"
        case .unreachable(let target):
            return "PostgreSQL at \(target) is unreachable (connection refused, timed out, or the name does not "
                + "resolve)"
        case .serverWithoutTLS(let target):
            return "PostgreSQL at \(target) does not offer TLS (ssl = off on the server); tls = \"verify-full\" "
                + "needs it"
        case .tlsNameMismatch(let host):
            return "the TLS certificate of the PostgreSQL server is not valid for the name \(host) (name mismatch)"
        case .tlsCertificateUntrusted(let target):
            return "the TLS certificate of PostgreSQL at \(target) is not trusted (unknown CA or expired); set "
                + "store.ca-file to the CA that signed it"
        case .tlsFailed(let target):
            return "the TLS handshake with PostgreSQL at \(target) failed"
        case .authenticationFailed(let user):
            return "PostgreSQL refused the user \(user): wrong password, unknown role, or no pg_hba.conf entry "
                + "allows it"
        case .databaseMissing(let database):
            return "the database \(database) does not exist on the PostgreSQL server (CREATE DATABASE it, owned "
                + "by the configured user)"
        case .schemaNewerThanBinary(let found, let supported):
            return "the database's MailBridge schema is version \(found), newer than this binary's \(supported): "
                + "a newer MailBridge migrated it; upgrade this node"
        case .schemaMismatch(let version):
            return "the database's schema history does not match this binary at version \(version)"
        case .schemaNeedsMigration(let found, let supported, let user):
            return "the database's MailBridge schema is version \(found), this binary needs \(supported), and the "
                + "role \(user) may not migrate it (it does not own the schema): run `mailbridge store "
                + "migrate-schema`, which connects as store.migration-user"
        case .roleMissing(let role):
            return "the role \(role) does not exist on the PostgreSQL server (CREATE ROLE \(role) LOGIN …)"
        case .serverError(let sqlState):
            return "PostgreSQL answered with error \(sqlState)"
        case .notSchemaOwner(let user):
            return "the role \(user) does not own the MailBridge tables, and only their owner may compact them: "
                + "set store.migration-user and store.migration-password-file to the schema's owner"
        case .connectionFailed(let target):
            return "the connection to PostgreSQL at \(target) failed unexpectedly"
        }
    }
}

extension PostgresProblem {
    /// What `error`, thrown while talking to `endpoint`, means for an administrator (a ``PostgresProblem`` stays
    /// as it is; a connection, TLS or server error is named by its kind and SQLSTATE, never by its arguments).
    public init(explaining error: any Error, endpoint: PostgresEndpoint) {
        self = PostgresConnector.problem(for: error, endpoint: endpoint)
    }
}
