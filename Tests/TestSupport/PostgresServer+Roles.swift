public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A second login role on a test database (issue 21, least privilege): the gateway's role, which owns nothing. The
/// database's own role (``TestDatabase/user``) plays the schema's owner.
public struct TestRole: Sendable {
    public let user: String
    public let password: String
    public let passwordFile: URL
}

extension PostgresServer {
    /// A new login role with no rights beyond `PUBLIC`'s (CONNECT and TEMP on databases; on PostgreSQL 15 no CREATE
    /// on `public`), its password in a file of mode 0600 beside the server's.
    public func makeRole(_ prefix: String = "mb_role") async throws -> TestRole {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let role = TestRole(user: "\(prefix)_\(suffix)", password: "pw-" + UUID().uuidString.lowercased(),
                            passwordFile: root.appendingPathComponent("password-\(prefix)-\(suffix)"))
        try await offCooperativePool { [self] in
            try psql("CREATE ROLE \(role.user) LOGIN PASSWORD '\(role.password)'")
        }
        try "\(role.password)\n".write(to: role.passwordFile, atomically: true, encoding: .utf8)
        chmod(role.passwordFile.path, 0o600)
        return role
    }

    /// The server's data folder (`PGDATA`): heap files under `base/`, the WAL under `pg_wal/`.
    public var dataDirectory: URL { root.appendingPathComponent("data") }

    /// `pg_dump` of `database` in plain SQL, as the superuser over TCP (what an operator's backup holds; `BYTEA`
    /// values appear as `\x` and hex).
    public func dump(_ database: String) throws -> [UInt8] {
        try Shell.run("pg_dump", [
            "-h", host, "-p", String(port), "-U", Self.superuser, "-d", database, "--format=plain",
        ], environment: ["PGPASSWORD": superuserPassword, "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "10"]).stdout
    }
}
