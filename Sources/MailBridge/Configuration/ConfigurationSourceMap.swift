import Foundation

/// Finds the line of an option path in the configuration text, because TOMLKit 0.6.0 gives positions only for
/// syntax errors.
///
/// It reads the simple layout MailBridge's files use: `[table]` and `[[array]]` headers and `key = value` lines
/// (bare or quoted keys). It does not follow dotted keys or inline tables; an option it cannot place gets no
/// line (the option path still names it), and a missing option gets the line of its table's header.
struct ConfigurationSourceMap {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var table = ""
        var arrayCounts: [String: Int] = [:]
        var inMultilineString: String?
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = rawLine.trimmingWhitespace()
            if let delimiter = inMultilineString {
                if line.contains(delimiter) { inMultilineString = nil }
                continue
            }
            if line.hasPrefix("[[") {
                guard let end = line.range(of: "]]") else { continue }
                let name = String(line[line.index(line.startIndex, offsetBy: 2)..<end.lowerBound]).trimmingWhitespace()
                let count = (arrayCounts[name] ?? 0) + 1
                arrayCounts[name] = count
                table = "\(name)[\(count)]"
                record(table, number)
                record(name, number)
            } else if line.hasPrefix("[") {
                guard let end = line.firstIndex(of: "]") else { continue }
                table = String(line[line.index(after: line.startIndex)..<end]).trimmingWhitespace()
                record(table, number)
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                var key = String(line[..<equals]).trimmingWhitespace()
                if key.count >= 2, key.first == "\"" || key.first == "'", key.last == key.first {
                    key = String(key.dropFirst().dropLast())
                }
                guard !key.isEmpty else { continue }
                record(table.isEmpty ? key : "\(table).\(key)", number)
                let value = line[line.index(after: equals)...].trimmingWhitespace()
                for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                    if !value.dropFirst(3).contains(delimiter) { inMultilineString = delimiter }
                }
            }
        }
    }

    private mutating func record(_ path: String, _ line: Int) {
        if lines[path] == nil { lines[path] = line }
    }

    /// The line of `option`, or of the nearest enclosing table header that is in the file.
    func line(of option: String) -> Int? {
        var path = Substring(option)
        while !path.isEmpty {
            if let line = lines[String(path)] { return line }
            guard let dot = path.lastIndex(of: ".") else { return nil }
            path = path[..<dot]
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
        var result = String(String.UnicodeScalarView(scalars))
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
        return result
    }
}
