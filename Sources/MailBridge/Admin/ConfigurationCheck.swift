import Foundation

/// `mailbridge check-config`: loads and validates a configuration and checks the files it names (custom
/// templates against their placeholder policy; password, TLS, CA, passphrase and master key files for existence,
/// readability and permissions), reporting every problem of both kinds in one run.
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
    ///
    /// Every problem comes out in one run (issue 22): the options' own problems from the loader, and the files
    /// the options name, also when other options are invalid. Each problem carries the line of its key: TOMLKit
    /// gives positions only for syntax errors, so ``ConfigurationSourceMap`` finds the line by scanning the text
    /// for `key = value` under its `[table]` or `[[array]]` header (a missing option gets its table's line).
    public static func run(file: String, json: Bool = false) -> Result {
        var errors: [ConfigurationError]
        var summary: [String: Int] = [:]
        var configuration: BridgeConfiguration?
        do {
            let loaded = try BridgeConfiguration.load(file: file)
            configuration = loaded
            errors = []
            summary = [
                "mailboxes": loaded.mailboxes.count, "imapSources": loaded.imapSources.count,
                "smtpPort": loaded.smtp.port,
            ]
        } catch {
            errors = error.allErrors
        }
        // One list in file order (problems without a line last), each kind keeping its own order.
        errors = (errors + referencedFileProblems(file: file, configuration: configuration, reported: errors))
            .enumerated().sorted { a, b in
                (a.element.line ?? Int.max, a.offset) < (b.element.line ?? Int.max, b.offset)
            }.map(\.element)
        let status: ExitStatus = errors.isEmpty ? .success : .invalidConfiguration
        let output: String
        if json {
            output = jsonReport(file: file, errors: errors, summary: summary)
        } else if errors.isEmpty {
            output = "\(file): configuration is valid (\(summary["mailboxes"] ?? 0) mailbox(es), "
                + "\(summary["imapSources"] ?? 0) IMAP source(s), SMTP port \(summary["smtpPort"] ?? 0))"
        } else {
            output = errors.map(\.description).joined(separator: "\n")
                + "\n\(errors.count) problem(s) in \(file); fix them and run `mailbridge check-config --config "
                + "\(file)` again"
        }
        return Result(status: status, output: output, errors: errors)
    }

    /// Problems with the files the configuration names (``ReferencedFileCheck``) and with custom templates,
    /// placed on their key's line. Options in `reported` already have a problem and are skipped.
    /// Works from the document alone when the configuration as a whole did not load; a file that cannot be read
    /// or is not TOML names no files.
    static func referencedFileProblems(file: String, configuration: BridgeConfiguration?,
                                       reported: [ConfigurationError]) -> [ConfigurationError] {
        guard let data = FileManager.default.contents(atPath: file), data.count <= BridgeConfiguration.maximumFileSize,
            let text = String(data: data, encoding: .utf8)
        else { return [] }
        // A reader of its own over the same text: `load` throws its errors and keeps the paths it read to itself.
        let reader = ConfigurationReader(file: file)
        _ = BridgeConfiguration.read(text, reader: reader)
        guard !reader.errors.contains(where: { $0.code == .syntax }) else { return [] }
        var paths = reader.paths
        if let configuration, !paths.contains(where: { $0.option == "keys.master-key-file" }) {
            paths.append(("keys.master-key-file", configuration.keys.masterKeyFile))  // the default beside the data
        }
        let skip = Set(reported.compactMap(\.option))
        var problems = ReferencedFileCheck.problems(paths.filter { !skip.contains($0.option) }, file: file)
        if let configuration {
            problems += templateProblems(configuration, file: file, skipping: skip.union(problems.compactMap(\.option)))
        }
        let map = ConfigurationSourceMap(text: text)
        return problems.map { problem in
            var problem = problem
            if problem.line == nil, let option = problem.option { problem.line = map.line(of: option) }
            return problem
        }
    }

    /// Custom templates that break their placeholder policy.
    static func templateProblems(_ configuration: BridgeConfiguration, file: String, skipping: Set<String>)
        -> [ConfigurationError]
    {
        var problems: [ConfigurationError] = []
        for (index, mailbox) in configuration.mailboxes.enumerated() {
            for kind in MessageTemplate.Kind.allCases {
                let option = "mailbox[\(index + 1)].\(kind.rawValue)-template"
                guard !skipping.contains(option) else { continue }
                do {
                    _ = try mailbox.template(kind)
                } catch {
                    problems.append(
                        ConfigurationError(
                            .invalidValue, file: file, option: option,
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
