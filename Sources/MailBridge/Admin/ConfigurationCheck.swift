import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// Release builds can attribute glibc's `struct stat` to the CDispatch clang module (it includes the same header);
// MemberImportVisibility then needs that module imported too.
#if canImport(CDispatch)
import CDispatch
#endif

/// `mailbridge check-config`: loads and validates a configuration, then checks the files it names (custom
/// templates against their placeholder policy; password, TLS and passphrase files for existence).
///
/// ```swift
/// let result = ConfigurationCheck.run(file: "/etc/mailbridge/mailbridge.toml", json: false)
/// print(result.output); exit(result.status.rawValue)
/// ```
///
/// The output names options and files, never values from them.
public enum ConfigurationCheck {
    /// The outcome: the exit status and the text to print (standard output on success, standard error otherwise).
    public struct Result: Sendable {
        public var status: ExitStatus
        public var output: String
        /// Every problem found (empty when valid).
        public var errors: [ConfigurationError]
    }

    /// Runs the check. `json` selects a JSON document as output, for scripts.
    public static func run(file: String, json: Bool = false) -> Result {
        let errors: [ConfigurationError]
        var summary: [String: Int] = [:]
        do {
            let configuration = try BridgeConfiguration.load(file: file)
            errors = referencedFileProblems(configuration, file: file)
            summary = [
                "mailboxes": configuration.mailboxes.count, "imapSources": configuration.imapSources.count,
                "smtpPort": configuration.smtp.port,
            ]
        } catch {
            errors = error.allErrors
        }
        let status: ExitStatus = errors.isEmpty ? .success : .invalidConfiguration
        let output: String
        if json {
            output = jsonReport(file: file, errors: errors, summary: summary)
        } else if errors.isEmpty {
            output = "\(file): configuration is valid (\(summary["mailboxes"] ?? 0) mailbox(es), "
                + "\(summary["imapSources"] ?? 0) IMAP source(s), SMTP port \(summary["smtpPort"] ?? 0))"
        } else {
            output = errors.map(\.description).joined(separator: "\n")
                + "\n\(errors.count) problem(s) in \(file)"
        }
        return Result(status: status, output: output, errors: errors)
    }

    /// Problems with files the configuration names: templates that break their policy, files that are missing,
    /// secret files that others may read or write. The master key file may be missing (`init` creates it, or a
    /// systemd credential replaces it) but must not be open to others when present.
    static func referencedFileProblems(_ configuration: BridgeConfiguration, file: String) -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        func checkFile(_ path: AbsolutePath?, _ option: String, secret: Bool, optional: Bool = false) {
            guard let path else { return }
            var status = stat()
            guard stat(path.string, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
                if !optional {
                    problems.append(
                        ConfigurationError(
                            .unreadableFile, file: file, option: option, expected: "an existing file at this path"))
                }
                return
            }
            if secret, status.st_mode & 0o077 != 0 {
                problems.append(
                    ConfigurationError(
                        .insecureFile, file: file, option: option,
                        expected: "a file only its owner can read and write (chmod 600)"))
            }
        }
        checkFile(configuration.keys.masterKeyFile, "keys.master-key-file", secret: true, optional: true)
        checkFile(configuration.keys.passphraseFile, "keys.passphrase-file", secret: true)
        checkFile(configuration.smtp.tlsCertificate, "smtp.tls-certificate", secret: false)
        checkFile(configuration.smtp.tlsKey, "smtp.tls-key", secret: true)
        for (index, source) in configuration.imapSources.enumerated() {
            checkFile(source.passwordFile, "imap[\(index + 1)].password-file", secret: true)
        }
        checkFile(configuration.smarthost?.passwordFile, "smarthost.password-file", secret: true)
        checkFile(configuration.store.postgresql?.passwordFile, "store.password-file", secret: true)
        checkFile(configuration.store.postgresql?.caFile, "store.ca-file", secret: false)
        for (index, mailbox) in configuration.mailboxes.enumerated() {
            for kind in MessageTemplate.Kind.allCases {
                do {
                    _ = try mailbox.template(kind)
                } catch {
                    problems.append(
                        ConfigurationError(
                            .invalidValue, file: file, option: "mailbox[\(index + 1)].\(kind.rawValue)-template",
                            expected: "a template following the placeholder policy: \(error)"))
                }
            }
        }
        return problems
    }

    private struct JSONReport: Encodable {
        struct Problem: Encodable {
            var code: String
            var option: String?
            var line: Int?
            var column: Int?
            var message: String
        }
        var file: String
        var valid: Bool
        var errors: [Problem]
        var summary: [String: Int]
    }

    static func jsonReport(file: String, errors: [ConfigurationError], summary: [String: Int]) -> String {
        let report = JSONReport(
            file: file, valid: errors.isEmpty,
            errors: errors.map {
                .init(code: $0.code.description, option: $0.option, line: $0.line, column: $0.column,
                      message: $0.expected)
            },
            summary: summary)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Encoding plain strings and integers cannot fail.
        return String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self)
    }
}
