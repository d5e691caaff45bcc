// Security: the admin commands run on the server as the service's administrator. `thread show` prints decrypted
// content to standard output on purpose (that is its job); nothing else does, and no command logs content,
// addresses or fingerprints. Errors are content-free descriptions, put in words by FailureExplanation.

import Foundation
public import Logging

/// What an admin command produced: its exit status, standard output and standard error text.
public struct AdminResult: Sendable {
    public var status: ExitStatus
    /// For standard output (may be empty).
    public var output: String
    /// For standard error (may be empty).
    public var errorOutput: String

    public init(status: ExitStatus = .success, output: String = "", errorOutput: String = "") {
        self.status = status
        self.output = output
        self.errorOutput = errorOutput
    }

    static func failure(_ status: ExitStatus, _ message: String) -> AdminResult {
        AdminResult(status: status, errorOutput: message)
    }
}

/// Opens an installation from a configuration file for one admin command and closes it afterwards.
///
/// ```swift
/// let result = await AdminSession.run(configFile: "/etc/mailbridge/mailbridge.toml", logger: logger) { installation in
///     try await ThreadsAdmin.list(installation, field: nil, json: true)
/// }
/// ```
public enum AdminSession {
    /// Exit 3 if the configuration does not load, 1 if the installation cannot be opened or `body` throws.
    public static func run(configFile: String, logger: Logger,
                           _ body: (OpenedInstallation) async throws -> AdminResult) async -> AdminResult {
        let configuration: BridgeConfiguration
        do {
            configuration = try BridgeConfiguration.load(file: configFile)
        } catch {
            return .failure(.invalidConfiguration, FailureExplanation.message(for: error))
        }
        return await run(configuration: configuration, logger: logger, body)
    }

    /// The same for an already loaded configuration (`--embedded --data-dir DIR`).
    public static func run(configuration: BridgeConfiguration, logger: Logger,
                           _ body: (OpenedInstallation) async throws -> AdminResult) async -> AdminResult {
        let installation: OpenedInstallation
        do {
            installation = try await OpenedInstallation.open(configuration, logger: logger)
        } catch {
            logger.debug("opening the installation failed", metadata: ["error": "\(error)"])
            return .failure(.failure, "cannot open the installation: \(FailureExplanation.message(for: error))")
        }
        let result: AdminResult
        do {
            result = try await body(installation)
        } catch let error as AdminUsageError {
            result = .failure(.usage, error.description)
        } catch {
            logger.debug("command failed", metadata: ["error": "\(error)"])
            result = .failure(.failure, FailureExplanation.message(for: error))
        }
        await installation.close()
        return result
    }

    /// Pretty, sorted JSON with ISO 8601 dates.
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A wrong argument found after the configuration was loaded (an unknown mailbox, a malformed ID): exit 2.
public struct AdminUsageError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
