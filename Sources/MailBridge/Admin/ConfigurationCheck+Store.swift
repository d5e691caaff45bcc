// Security: connects to the configured PostgreSQL server (issue 21). The report names host, port, user and
// database (configuration) and what is wrong; never the password or a server message.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
// As in ReferencedFileCheck.swift: `struct stat` may be attributed to CDispatch's clang module.
#if canImport(CDispatch)
import CDispatch
#endif
public import Logging
import StorePostgres

extension ConfigurationCheck {
    /// ``run(file:json:)`` and, when the configuration is valid and names `engine = "postgresql"`, a connection to
    /// the server: unreachable, TLS (no TLS on the server, name mismatch, untrusted certificate), authentication,
    /// missing database and a schema newer than this binary are problems (`store` option, exit status 3); an
    /// empty or older schema is fine (the first node to start migrates it, or, with `migration-user`, the output
    /// says to run `mailbridge store migrate-schema`) and reported in the summary. On a current
    /// schema the gateway role's rights are checked: a missing right is a problem (`store.user`); owning the schema,
    /// being able to create tables or to change audit rows are warnings (text: `store: warning: …` lines; JSON:
    /// `postgresqlPrivilegeWarnings`, their count).
    public static func run(file: String, json: Bool = false, logger: Logger) async -> Result {
        let result = run(file: file, json: json)
        guard result.status == .success, let configuration = try? BridgeConfiguration.load(file: file),
              let postgresql = configuration.store.postgresql else { return result }
        let endpoint = postgresEndpoint(postgresql)
        var summary = [
            "mailboxes": configuration.mailboxes.count, "imapSources": configuration.imapSources.count,
            "smtpPort": configuration.smtp.port,
        ]
        switch await PostgresStore.check(endpoint, logger: logger) {
        case .success(let status):
            switch status {
            case .empty: summary["postgresqlSchemaVersion"] = 0
            case .current(let version), .behind(let version, _): summary["postgresqlSchemaVersion"] = version
            }
            // Least privilege (docs/postgresql.md, "Two roles"): on a current schema, the gateway role's rights.
            var findings: [PostgresPrivilegeFinding] = []
            if case .current = status,
               case .success(let found) = await PostgresStore.privileges(endpoint, logger: logger) {
                findings = found
            }
            let warnings = findings.filter { !$0.isProblem }.map(\.description)
                + [migrationPasswordWarning(postgresql)].compactMap { $0 }
            let missing = findings.filter(\.isProblem).map {
                ConfigurationError(.storeUnusable, file: file, option: "store.user", expected: $0.description)
            }
            summary["postgresqlPrivilegeWarnings"] = warnings.count
            if !missing.isEmpty {
                let output = json ? jsonReport(file: file, errors: missing, summary: summary)
                    : missing.map(\.description).joined(separator: "\n") + "\n\(missing.count) problem(s) in \(file)"
                return Result(status: .invalidConfiguration, output: output, errors: missing)
            }
            // Two roles: the gateway's role does not migrate; the owner's command does.
            var next = ""
            if postgresql.migrationUser != nil, status != .current(PostgresStore.schemaVersion) {
                next = " (the gateway's user does not migrate it: run `mailbridge store migrate-schema` first)"
            }
            let output = json ? jsonReport(file: file, errors: [], summary: summary)
                : result.output + "\nstore: PostgreSQL \(endpoint): \(status)\(next)"
                    + warnings.map { "\nstore: warning: \($0)" }.joined()
            return Result(status: .success, output: output, errors: [])
        case .failure(let problem):
            let error = ConfigurationError(.storeUnusable, file: file, option: "store", expected: problem.description)
            let output = json ? jsonReport(file: file, errors: [error], summary: summary)
                : "\(error.description)\n1 problem(s) in \(file)"
            return Result(status: .invalidConfiguration, output: output, errors: [error])
        }
    }

    /// The user `systemd/mailbridge.service` runs the gateway as.
    static let serviceUser = "mailbridge"

    /// A warning when the gateway's service user (`serviceUser`, if that user exists) can read
    /// `migration-password-file` by its owner, group or mode: the gateway would then hold the schema owner's
    /// password, which the two roles exist to keep from it (docs/postgresql.md, "Two roles"). ACLs and
    /// supplementary groups are not read.
    static func migrationPasswordWarning(_ postgresql: BridgeConfiguration.PostgreSQL,
                                         serviceUser: String = serviceUser) -> String? {
        guard let file = postgresql.migrationPasswordFile, let user = getpwnam(serviceUser) else { return nil }
        var status = stat()
        guard stat(file.string, &status) == 0 else { return nil }
        let mode = status.st_mode
        let readable = (status.st_uid == user.pointee.pw_uid && mode & 0o400 != 0)
            || (status.st_gid == user.pointee.pw_gid && mode & 0o040 != 0) || mode & 0o004 != 0
        guard readable || user.pointee.pw_uid == 0 else { return nil }
        return "store.migration-password-file can be read by \(serviceUser), the user the gateway runs as: the "
            + "gateway would hold the schema owner's password; make the file readable by the administrator only "
            + "(for example chown root:root and chmod 600)"
    }

    /// The engine's endpoint for the configured server.
    static func postgresEndpoint(_ postgresql: BridgeConfiguration.PostgreSQL) -> PostgresEndpoint {
        postgresql.endpoint
    }

    /// The endpoint of the schema's owner (`migration-user`, `migration-password-file`), nil without them.
    static func migrationEndpoint(_ postgresql: BridgeConfiguration.PostgreSQL) -> PostgresEndpoint? {
        guard let user = postgresql.migrationUser, let file = postgresql.migrationPasswordFile else { return nil }
        var endpoint = postgresEndpoint(postgresql)
        endpoint.user = user
        endpoint.passwordFile = file.string
        return endpoint
    }
}
