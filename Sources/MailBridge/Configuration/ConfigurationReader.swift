import MailValues
import TOMLKit

/// Walks a parsed TOML document for `BridgeConfiguration`, collecting every problem instead of stopping at the
/// first, tracking which keys were read so that all others are reported as unknown, and recording the option
/// patterns it knows (`mailbox[].address`) so tests can compare them with the example file.
///
/// Not thread-safe; one reader per load.
final class ConfigurationReader {
    /// A table being read: the TOML table (absent when the file leaves it out), its option path for messages
    /// (`mailbox[2]`), its pattern for the option registry (`mailbox[]`) and the keys read so far.
    final class Section {
        let table: TOMLTable?
        let path: String
        let pattern: String
        fileprivate(set) var readKeys: [String] = []

        init(table: TOMLTable?, path: String, pattern: String) {
            self.table = table
            self.path = path
            self.pattern = pattern
        }

        func optionPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
        func optionPattern(_ key: String) -> String { pattern.isEmpty ? key : "\(pattern).\(key)" }
        func contains(_ key: String) -> Bool { table?.contains(key: key) ?? false }
    }

    let file: String?
    private(set) var errors: [ConfigurationError] = []
    /// Every option pattern this reader looked up, like `smtp.port` or `mailbox[].address`.
    private(set) var knownOptions: Set<String> = []
    /// The option patterns that were looked up and present in the document.
    private(set) var presentOptions: Set<String> = []
    /// Every valid absolute path option read, with its option path (`imap[1].password-file`), in reading order:
    /// `check-config` checks these files even when other options are invalid (issue 22).
    private(set) var paths: [(option: String, path: AbsolutePath)] = []

    init(file: String?) { self.file = file }

    func report(_ code: ConfigurationError.Code, _ option: String?, expected: String) {
        errors.append(ConfigurationError(code, file: file, option: option, expected: expected))
    }

    func append(_ error: ConfigurationError) { errors.append(error) }

    // MARK: Tables

    /// The sub-table `key` of `parent`; an absent table reads as empty (all defaults).
    func section(_ parent: Section, _ key: String) -> Section {
        let value = lookUp(parent, key)
        let path = parent.optionPath(key)
        var table: TOMLTable?
        if let value {
            if let found = value.table { table = found } else {
                report(.wrongType, path, expected: "a table [\(path)], found \(describe(value.type))")
            }
        }
        return Section(table: table, path: path, pattern: parent.optionPattern(key))
    }

    /// The array of tables `[[key]]` of `parent`, each as a section `key[n]` (counted from 1).
    func arrayOfTables(_ parent: Section, _ key: String) -> [Section] {
        let path = parent.optionPath(key)
        let pattern = parent.optionPattern(key) + "[]"
        guard let value = lookUp(parent, key) else { return [] }
        guard let array = value.array else {
            report(.wrongType, path, expected: "an array of tables [[\(path)]], found \(describe(value.type))")
            return []
        }
        var sections: [Section] = []
        for index in array.indices {
            let elementPath = "\(path)[\(index + 1)]"
            guard let table = array[index].table else {
                report(.wrongType, elementPath, expected: "a table [[\(path)]], found \(describe(array[index].type))")
                continue
            }
            sections.append(Section(table: table, path: elementPath, pattern: pattern))
        }
        return sections
    }

    /// A table whose keys are chosen by the admin (`[retention.fields]`), as key/value pairs.
    func freeformTable(
        _ parent: Section, _ key: String
    ) -> (path: String, entries: [(String, any TOMLValueConvertible)]) {
        let path = parent.optionPath(key)
        guard let value = lookUp(parent, key) else { return (path, []) }
        guard let table = value.table else {
            report(.wrongType, path, expected: "a table [\(path)], found \(describe(value.type))")
            return (path, [])
        }
        return (path, table.keys.sorted().compactMap { name in table[name].map { (name, $0) } })
    }

    /// Reports every key of `section` that was not read, suggesting a known key with a similar spelling.
    func finish(_ section: Section) {
        guard let table = section.table else { return }
        let known = section.readKeys
        for key in table.keys.sorted() where !known.contains(key) {
            var expected = "an option known in [\(section.path.isEmpty ? "top level" : section.path)]"
            if let suggestion = Self.closest(to: key, among: known) {
                expected += "; did you mean '\(suggestion)'?"
            } else if !known.isEmpty {
                expected += " (one of: \(known.joined(separator: ", ")))"
            }
            if key.lowercased().contains("password") || key.lowercased().contains("secret") {
                expected += "; secrets never go into this file, point 'password-file' at a file holding them"
            }
            report(.unknownOption, section.optionPath(key), expected: expected)
        }
    }

    // MARK: Values

    private func lookUp(_ section: Section, _ key: String) -> (any TOMLValueConvertible)? {
        if !section.readKeys.contains(key) { section.readKeys.append(key) }
        knownOptions.insert(section.optionPattern(key))
        let value = section.table?[key]
        if value != nil { presentOptions.insert(section.optionPattern(key)) }
        return value
    }

    /// A string option; `nil` when absent (or of the wrong type, which is reported).
    func string(_ section: Section, _ key: String, expected: String = "a string") -> String? {
        guard let value = lookUp(section, key) else { return nil }
        guard let string = value.string else {
            report(.wrongType, section.optionPath(key), expected: "\(expected), found \(describe(value.type))")
            return nil
        }
        return string
    }

    /// A required string option.
    func requiredString(_ section: Section, _ key: String, expected: String = "a string") -> String? {
        guard section.contains(key) else {
            _ = lookUp(section, key)
            report(.missingOption, section.optionPath(key), expected: "\(expected) (this option is required)")
            return nil
        }
        return string(section, key, expected: expected)
    }

    /// A short single-line text (names, folders, user names): 1…`maxLength` characters, no control characters.
    func text(_ section: Section, _ key: String, required: Bool, default defaultValue: String? = nil,
              maxLength: Int = 256, what: String) -> String? {
        let expected = "\(what): 1 to \(maxLength) characters without control characters"
        let raw = required ? requiredString(section, key, expected: expected) : string(section, key, expected: expected)
        guard let raw else { return defaultValue }
        guard !raw.isEmpty, raw.count <= maxLength,
            !raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            report(.invalidValue, section.optionPath(key), expected: expected)
            return defaultValue
        }
        return raw
    }

    /// An integer option within `range`; the default when absent or invalid (invalid values are reported).
    func integer(_ section: Section, _ key: String, default defaultValue: Int, range: ClosedRange<Int>,
                 unit: String = "") -> Int {
        let suffix = unit.isEmpty ? "" : " \(unit)"
        let expected = "an integer from \(range.lowerBound) to \(range.upperBound)\(suffix)"
        guard let value = lookUp(section, key) else { return defaultValue }
        guard let number = value.int else {
            report(.wrongType, section.optionPath(key), expected: "\(expected), found \(describe(value.type))")
            return defaultValue
        }
        guard range.contains(number) else {
            report(.outOfRange, section.optionPath(key), expected: expected)
            return defaultValue
        }
        return number
    }

    /// An array of integers, each within `range`, at most `maximumCount` of them; the default when absent or
    /// invalid (invalid values are reported).
    func integers(_ section: Section, _ key: String, default defaultValue: [Int], range: ClosedRange<Int>,
                  maximumCount: Int, unit: String = "") -> [Int] {
        let suffix = unit.isEmpty ? "" : " \(unit)"
        let expected = "an array of at most \(maximumCount) integers from \(range.lowerBound) to "
            + "\(range.upperBound)\(suffix)"
        guard let value = lookUp(section, key) else { return defaultValue }
        guard let array = value.array else {
            report(.wrongType, section.optionPath(key), expected: "\(expected), found \(describe(value.type))")
            return defaultValue
        }
        var numbers: [Int] = []
        for element in array {
            guard let number = element.int else {
                report(.wrongType, section.optionPath(key), expected: expected)
                return defaultValue
            }
            numbers.append(number)
        }
        guard numbers.count <= maximumCount, numbers.allSatisfy(range.contains) else {
            report(.outOfRange, section.optionPath(key), expected: expected)
            return defaultValue
        }
        return numbers
    }

    /// A boolean option.
    func boolean(_ section: Section, _ key: String, default defaultValue: Bool) -> Bool {
        guard let value = lookUp(section, key) else { return defaultValue }
        guard let flag = value.bool else {
            report(.wrongType, section.optionPath(key), expected: "true or false, found \(describe(value.type))")
            return defaultValue
        }
        return flag
    }

    /// One of the raw values of `E`.
    func choice<E: RawRepresentable & CaseIterable>(_ section: Section, _ key: String, default defaultValue: E)
        -> E where E.RawValue == String
    {
        let names = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
        guard let raw = string(section, key, expected: names) else { return defaultValue }
        guard let value = E(rawValue: raw) else {
            report(.invalidValue, section.optionPath(key), expected: names)
            return defaultValue
        }
        return value
    }

    /// An absolute path option.
    func path(_ section: Section, _ key: String, required: Bool = false) -> AbsolutePath? {
        let expected = "an absolute path starting with '/'"
        let raw = required ? requiredString(section, key, expected: expected) : string(section, key, expected: expected)
        guard let raw else { return nil }
        do {
            let path = try AbsolutePath(raw)
            paths.append((section.optionPath(key), path))
            return path
        } catch .relative {
            report(.relativePath, section.optionPath(key),
                   expected: "\(expected); relative paths are not accepted because the service runs in '/'")
        } catch {
            report(.invalidValue, section.optionPath(key), expected: "\(expected), at most 4095 octets, no NUL")
        }
        return nil
    }

    /// A mail address option (`EmailAddress`).
    func address(_ section: Section, _ key: String, required: Bool = true) -> EmailAddress? {
        let expected = "a mail address like beratung@example.org"
        let raw = required ? requiredString(section, key, expected: expected) : string(section, key, expected: expected)
        guard let raw else { return nil }
        do {
            return try EmailAddress(raw)
        } catch {
            // `AddressError` descriptions never repeat the input.
            report(.invalidValue, section.optionPath(key), expected: "\(expected) (\(error))")
            return nil
        }
    }

    /// A host name or address literal.
    func host(_ section: Section, _ key: String, required: Bool, default defaultValue: String? = nil,
              addressLiteralOnly: Bool = false) -> String? {
        let expected = addressLiteralOnly
            ? "an IPv4 or IPv6 address like 127.0.0.1 or ::1"
            : "a host name like mail.example.org or an IP address"
        let raw = required ? requiredString(section, key, expected: expected) : string(section, key, expected: expected)
        guard let raw else { return defaultValue }
        let valid = addressLiteralOnly ? NetworkName.isIPAddress(raw) : NetworkName.isHost(raw)
        guard valid else {
            report(.invalidValue, section.optionPath(key), expected: expected)
            return defaultValue
        }
        return raw
    }

    // MARK: Helpers

    func describe(_ type: TOMLType) -> String {
        switch type {
        case .int: "an integer"
        case .array: "an array"
        default: "a \(type)"
        }
    }

    /// The known key closest to `key` by edit distance, if it is close enough to be a typo.
    static func closest(to key: String, among known: [String]) -> String? {
        let candidates = known.map { ($0, editDistance(key.lowercased(), $0.lowercased())) }
        guard let best = candidates.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = max(2, min(key.count, best.0.count) / 3)
        return best.1 <= limit ? best.0 : nil
    }

    /// Levenshtein distance (insert, delete, substitute).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }
}
