// Security: `[store]` names where the thread store lives. For PostgreSQL it names the server, the database, the
// user and the file holding the password (never the password itself), and how the connection is secured: TLS with
// full verification unless the server is on this machine (loopback), where `tls = "disable"` is allowed.

// Issue 21: `[store]`, the store engine.
extension BridgeConfiguration {
    /// `[store]`: which engine holds the thread store.
    public struct Store: Sendable, Equatable {
        /// `engine`: `"sqlite"` (default: one file in the data folder) or `"postgresql"`.
        public enum Engine: String, Sendable, Equatable, CaseIterable {
            case sqlite
            case postgresql
        }

        public var engine: Engine = .sqlite
        /// The server, when `engine = "postgresql"` (nil otherwise).
        public var postgresql: PostgreSQL?

        public init(engine: Engine = .sqlite, postgresql: PostgreSQL? = nil) {
            self.engine = engine
            self.postgresql = postgresql
        }
    }

    /// The PostgreSQL options of `[store]`.
    public struct PostgreSQL: Sendable, Equatable {
        /// How the connection to the server is secured.
        public enum TLSMode: String, Sendable, Equatable, CaseIterable {
            /// TLS required, certificate chain and name verified (libpq's `sslmode=verify-full`). Default.
            case verifyFull = "verify-full"
            /// No TLS: only for a loopback host.
            case disable
        }

        /// `host` (required): a host name or IP address; with `verify-full` the certificate must be for this name.
        public var host: String
        /// `port`, default 5432.
        public var port: Int = 5432
        /// `database`, default `mailbridge`.
        public var database: String = "mailbridge"
        /// `user`, default `mailbridge`.
        public var user: String = "mailbridge"
        /// `password-file` (required): a file whose first line is the user's password.
        public var passwordFile: AbsolutePath
        /// `tls`, default `verify-full`.
        public var tls: TLSMode = .verifyFull
        /// `ca-file`: PEM trust roots for `verify-full` (a private CA). Default: the system's trust roots.
        public var caFile: AbsolutePath?
        /// `connect-timeout-seconds`, 1 to 60, default 10.
        public var connectTimeoutSeconds: Int = 10
        /// `migration-user` and `migration-password-file`, both or neither: the role that owns the schema, used
        /// only by `mailbridge store migrate-schema` (never by the gateway), which migrates and grants ``user`` its
        /// row rights (docs/postgresql.md, "Two roles"). Without them ``user`` owns the schema and migrates it.
        public var migrationUser: String?
        public var migrationPasswordFile: AbsolutePath?
        /// `node-id`: this gateway node's name in the shared outbox's leases, 1 to 64 characters of `A-Z a-z 0-9
        /// . _ -`, distinct per node. Default (nil): the machine's host name, other characters replaced by `-`
        /// (``nodeName(hostName:)``).
        public var nodeID: String?
        /// `lease-seconds`, 10 to 3600, default 60: how long an outgoing mail a node claimed stays its own. A
        /// delivery renews it every third of it, so it bounds only how soon another node takes over the mail of a
        /// node that died (docs/postgresql.md, "Outbox leases").
        public var leaseSeconds: Int = 60

        public init(host: String, passwordFile: AbsolutePath) {
            self.host = host
            self.passwordFile = passwordFile
        }

        /// The node name in force: ``nodeID``, else `hostName` made into a node name (at most 64 characters,
        /// each outside `A-Z a-z 0-9 . _ -` replaced by `-`; `node` for an empty one).
        public func nodeName(hostName: String) -> String {
            if let nodeID { return nodeID }
            let name = String(String.UnicodeScalarView(hostName.unicodeScalars.prefix(64).map {
                Self.isNodeNameScalar($0) ? $0 : "-"
            }))
            return name.isEmpty ? "node" : name
        }

        static func isNodeNameScalar(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "_" || scalar == "-")
        }
    }

    /// Options that belong to the PostgreSQL engine only.
    static let postgresqlStoreOptions = [
        "host", "port", "database", "user", "password-file", "tls", "ca-file", "connect-timeout-seconds",
        "migration-user", "migration-password-file", "node-id", "lease-seconds",
    ]

    /// Reads `[store]`. PostgreSQL options without `engine = "postgresql"` are reported (a forgotten engine line
    /// would otherwise leave the gateway on SQLite unnoticed).
    static func readStore(_ section: ConfigurationReader.Section, reader: ConfigurationReader) -> Store {
        let engine = reader.choice(section, "engine", default: Store.Engine.sqlite)
        let isPostgreSQL = engine == .postgresql
        let host = reader.host(section, "host", required: isPostgreSQL)
        let port = reader.integer(section, "port", default: 5432, range: 1...65535)
        let database = reader.text(section, "database", required: false, default: "mailbridge", maxLength: 63,
                                   what: "a PostgreSQL database name") ?? "mailbridge"
        let user = reader.text(section, "user", required: false, default: "mailbridge", maxLength: 63,
                               what: "a PostgreSQL role name") ?? "mailbridge"
        let passwordFile = reader.path(section, "password-file", required: isPostgreSQL)
        let tls = reader.choice(section, "tls", default: PostgreSQL.TLSMode.verifyFull)
        let caFile = reader.path(section, "ca-file")
        let timeout = reader.integer(section, "connect-timeout-seconds", default: 10, range: 1...60, unit: "seconds")
        let migrationUser = reader.text(section, "migration-user", required: false, maxLength: 63,
                                        what: "a PostgreSQL role name")
        let migrationPasswordFile = reader.path(section, "migration-password-file")
        let nodeID = reader.text(section, "node-id", required: false, maxLength: 64, what: "a node name")
        if let nodeID, !nodeID.unicodeScalars.allSatisfy(PostgreSQL.isNodeNameScalar) {
            reader.report(.invalidValue, section.optionPath("node-id"),
                          expected: "a node name: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
        }
        let leaseSeconds = reader.integer(section, "lease-seconds", default: 60, range: 10...3600, unit: "seconds")
        guard isPostgreSQL else {
            for option in postgresqlStoreOptions where section.contains(option) {
                reader.report(.conflictingOptions, section.optionPath(option),
                              expected: "PostgreSQL options only with engine = \"postgresql\"")
            }
            reader.finish(section)
            return Store(engine: engine)
        }
        if tls == .disable, let host, !NetworkName.isLoopback(host) {
            reader.report(.invalidValue, section.optionPath("tls"),
                          expected: "\"verify-full\"; \"disable\" is only allowed for a loopback host")
        }
        if tls == .disable, section.contains("ca-file") {
            reader.report(.conflictingOptions, section.optionPath("ca-file"),
                          expected: "ca-file only with tls = \"verify-full\"")
        }
        if section.contains("migration-user") != section.contains("migration-password-file") {
            reader.report(.conflictingOptions, section.optionPath("migration-password-file"),
                          expected: "migration-user and migration-password-file together, or neither")
        }
        if let migrationUser, migrationUser == user {
            reader.report(.conflictingOptions, section.optionPath("migration-user"),
                          expected: "a role other than user (the schema's owner), or no migration-user")
        }
        reader.finish(section)
        guard let host, let passwordFile else { return Store(engine: engine) }
        var postgresql = PostgreSQL(host: host, passwordFile: passwordFile)
        postgresql.port = port
        postgresql.database = database
        postgresql.user = user
        postgresql.tls = tls
        postgresql.caFile = caFile
        postgresql.connectTimeoutSeconds = timeout
        postgresql.nodeID = nodeID.flatMap { $0.unicodeScalars.allSatisfy(PostgreSQL.isNodeNameScalar) ? $0 : nil }
        postgresql.leaseSeconds = leaseSeconds
        if let migrationUser, let migrationPasswordFile {
            postgresql.migrationUser = migrationUser
            postgresql.migrationPasswordFile = migrationPasswordFile
        }
        return Store(engine: engine, postgresql: postgresql)
    }

    /// The `[store]` lines of ``tomlText``.
    func storeTOMLLines() -> [String] {
        var lines = ["", "[store]", "engine = \(Self.quoted(store.engine.rawValue))"]
        guard let postgresql = store.postgresql else { return lines }
        lines += [
            "host = \(Self.quoted(postgresql.host))",
            "port = \(postgresql.port)",
            "database = \(Self.quoted(postgresql.database))",
            "user = \(Self.quoted(postgresql.user))",
            "password-file = \(Self.quoted(postgresql.passwordFile.string))",
            "tls = \(Self.quoted(postgresql.tls.rawValue))",
        ]
        if let caFile = postgresql.caFile { lines.append("ca-file = \(Self.quoted(caFile.string))") }
        lines.append("connect-timeout-seconds = \(postgresql.connectTimeoutSeconds)")
        if let nodeID = postgresql.nodeID { lines.append("node-id = \(Self.quoted(nodeID))") }
        lines.append("lease-seconds = \(postgresql.leaseSeconds)")
        if let user = postgresql.migrationUser, let file = postgresql.migrationPasswordFile {
            lines += ["migration-user = \(Self.quoted(user))", "migration-password-file = \(Self.quoted(file.string))"]
        }
        return lines
    }
}
