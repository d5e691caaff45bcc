// Security: opens connections to the PostgreSQL store. TLS is verified in full (chain and name) unless the
// administrator chose `disable`, which the configuration allows only for loopback hosts. The password is read from
// its file for each connection and handed to postgres-nio, which sends it only inside SCRAM (or md5/cleartext if
// the server asks; a server that asks for cleartext over a connection without TLS is the administrator's choice).
// No SQL argument is ever logged: postgres-nio logs queries only at trace level, and our loggers stay above it.

import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// Opens PostgreSQL connections for an endpoint and turns connection failures into ``PostgresProblem``s.
enum PostgresConnector {
    /// The most a password file may hold: a password is one line.
    static let maximumPasswordFileSize = 4096

    /// The password: the first line of the file (without its line end). Empty or unreadable files are a problem.
    static func password(from path: String) throws(PostgresProblem) -> String {
        guard let handle = FileHandle(forReadingAtPath: path),
              let data = try? handle.read(upToCount: maximumPasswordFileSize + 1) else {
            throw .passwordFileUnreadable(path: path)
        }
        try? handle.close()
        let text = String(decoding: data.prefix(maximumPasswordFileSize), as: UTF8.self)
        let line = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .first.map(String.init) ?? ""
        let password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !password.isEmpty else { throw .passwordFileUnreadable(path: path) }
        return password
    }

    /// postgres-nio's configuration for `endpoint`: TLS `.require` with full verification for `verify-full`.
    static func configuration(_ endpoint: PostgresEndpoint) throws(PostgresProblem)
        -> PostgresConnection.Configuration
    {
        let password = try password(from: endpoint.passwordFile)
        let tls: PostgresConnection.Configuration.TLS
        if let settings = try tlsSettings(endpoint) {
            do {
                tls = .require(try NIOSSLContext(configuration: settings))
            } catch {
                throw .caFileUnreadable(path: endpoint.caFile ?? "(system trust roots)")
            }
        } else {
            tls = .disable
        }
        var configuration = PostgresConnection.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.user, password: password,
            database: endpoint.database, tls: tls)
        configuration.options.connectTimeout = .seconds(Int64(endpoint.connectTimeoutSeconds))
        configuration.options.additionalStartupParameters = [("application_name", endpoint.applicationName)]
        return configuration
    }

    /// The TLS settings of `endpoint`: nil for `disable`; for `verify-full`, TLS 1.2 or newer with the chain and
    /// the name verified, against `ca-file` if set.
    static func tlsSettings(_ endpoint: PostgresEndpoint) throws(PostgresProblem) -> TLSConfiguration? {
        switch endpoint.tls {
        case .disable:
            return nil
        case .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .fullVerification
            settings.minimumTLSVersion = .tlsv12
            if let caFile = endpoint.caFile {
                guard let roots = try? NIOSSLCertificate.fromPEMFile(caFile), !roots.isEmpty else {
                    throw .caFileUnreadable(path: caFile)
                }
                settings.trustRoots = .certificates(roots)
            }
            return settings
        }
    }

    /// A new connection, or the problem that prevented it.
    static func connect(_ endpoint: PostgresEndpoint, logger: Logger) async throws(PostgresProblem)
        -> PostgresConnection
    {
        let configuration = try configuration(endpoint)
        do {
            return try await PostgresConnection.connect(
                configuration: configuration, id: Int.random(in: 1...Int(Int32.max)), logger: logger)
        } catch {
            throw problem(for: error, endpoint: endpoint)
        }
    }

    /// Runs `body` on a new connection and closes it afterwards, whatever `body` does.
    static func withConnection<Result: Sendable>(
        _ endpoint: PostgresEndpoint, logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(endpoint, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// What a connection error means for an administrator. SQLSTATE codes from PostgreSQL's Appendix A:
    /// `28P01` invalid_password, `28000` invalid_authorization_specification (no pg_hba.conf entry, unknown
    /// role with `trust`), `3D000` invalid_catalog_name (no such database).
    static func problem(for error: any Error, endpoint: PostgresEndpoint) -> PostgresProblem {
        if let problem = error as? PostgresProblem { return problem }
        if let tlsProblem = tlsProblem(error, endpoint: endpoint) { return tlsProblem }
        guard let error = error as? PSQLError else { return .connectionFailed(hostAndPort: endpoint.hostAndPort) }
        if let underlying = error.underlying, let tlsProblem = tlsProblem(underlying, endpoint: endpoint) {
            return tlsProblem
        }
        switch error.code {
        case .sslUnsupported:
            return .serverWithoutTLS(hostAndPort: endpoint.hostAndPort)
        case .server:
            switch error.serverInfo?[.sqlState] {
            case "28P01", "28000": return .authenticationFailed(user: endpoint.user)
            case "3D000": return .databaseMissing(database: endpoint.database)
            case let state?: return .serverError(sqlState: state)
            case nil: return .connectionFailed(hostAndPort: endpoint.hostAndPort)
            }
        case .connectionError:
            return .unreachable(hostAndPort: endpoint.hostAndPort)
        case .saslError, .unsupportedAuthMechanism, .authMechanismRequiresPassword:
            return .authenticationFailed(user: endpoint.user)
        default:
            return .connectionFailed(hostAndPort: endpoint.hostAndPort)
        }
    }

    /// A TLS failure: the name check (NIOSSL's own) or BoringSSL's chain verification.
    private static func tlsProblem(_ error: any Error, endpoint: PostgresEndpoint) -> PostgresProblem? {
        if let error = error as? NIOSSLExtraError {
            return error == .failedToValidateHostname || error == .serverHostnameImpossibleToMatch
                ? .tlsNameMismatch(host: endpoint.host) : .tlsFailed(hostAndPort: endpoint.hostAndPort)
        }
        if let error = error as? NIOSSLError {
            if case .handshakeFailed(let reason) = error, "\(reason)".contains("CERTIFICATE_VERIFY_FAILED") {
                return .tlsCertificateUntrusted(hostAndPort: endpoint.hostAndPort)
            }
            return .tlsFailed(hostAndPort: endpoint.hostAndPort)
        }
        return nil
    }
}
