// Security: parses attacker-controlled `application/x-www-form-urlencoded` bodies (WHATWG URL §5.1). Bounded: the
// caller limits the body size; at most 100 fields are kept; a field that does not decode is dropped.

import Foundation

/// The fields of an urlencoded form body.
struct FormFields {
    static let maximumFields = 100
    private(set) var values: [String: String] = [:]

    init(_ body: String) {
        for pair in body.split(separator: "&", omittingEmptySubsequences: true).prefix(Self.maximumFields) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if let value, values[name] == nil { values[name] = value }
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
