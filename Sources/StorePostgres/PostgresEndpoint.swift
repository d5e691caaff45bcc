// Security: names where the PostgreSQL server is and how to reach it. The password is never part of this value:
// only the path of the file holding it (read at connect time, see ``PostgresConnector``). Descriptions name host,
// port, database and user (operator configuration, no client data) and never the password.

/// Where the PostgreSQL store is and how to reach it (`[store]` with `engine = "postgresql"`).
///
/// ```swift
/// let endpoint = PostgresEndpoint(host: "db.example.org", database: "mailbridge", user: "mailbridge",
///                                 passwordFile: "/etc/mailbridge/postgres-password")
/// if let problem = await PostgresConnectionCheck.run(endpoint) { print(problem) }
/// ```
public struct PostgresEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// How the connection to the server is secured.
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// TLS required, the certificate chain verified against the trust roots (``PostgresEndpoint/caFile`` or
        /// the system's) and the certificate's name checked against ``PostgresEndpoint/host`` (libpq's
        /// `sslmode=verify-full`). The default.
        case verifyFull = "verify-full"
        /// No TLS at all. The configuration loader allows it only for a loopback host (a server on the same
        /// machine), where nothing crosses a network.
        case disable
    }

    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    /// A file whose first line is the user's password.
    public var passwordFile: String
    public var tls: TLSMode
    /// A PEM file of trust roots for `verify-full` (a private CA); `nil` uses the system's trust roots.
    public var caFile: String?
    /// How long to wait for the TCP connection, in seconds.
    public var connectTimeoutSeconds: Int
    /// The connections' `application_name` (in `pg_stat_activity`): ``commandApplicationName`` for a command,
    /// ``gatewayNode(_:)`` for a running node, which a master key rotation looks for. Not configured: set by the
    /// program that connects.
    public var applicationName = PostgresEndpoint.commandApplicationName

    /// The `application_name` of a command's connections.
    public static let commandApplicationName = "mailbridge"

    /// The `application_name` of a running gateway node's connections: the prefix
    /// ``PostgresMasterKeyRotation/gatewayApplicationPrefix``, a hyphen and the node's name (PostgreSQL keeps 63
    /// bytes of it).
    public static func gatewayNode(_ node: String) -> String {
        PostgresMasterKeyRotation.gatewayApplicationPrefix + "-" + node
    }

    public static let defaultPort = 5432

    public init(
        host: String, port: Int = defaultPort, database: String, user: String, passwordFile: String,
        tls: TLSMode = .verifyFull, caFile: String? = nil, connectTimeoutSeconds: Int = 10
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.passwordFile = passwordFile
        self.tls = tls
        self.caFile = caFile
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// `user@host:port/database (tls)`: configuration, no secret.
    public var description: String { "\(user)@\(hostAndPort)/\(database) (\(tls.rawValue))" }

    /// `host:port`, with an IPv6 literal in brackets.
    public var hostAndPort: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
