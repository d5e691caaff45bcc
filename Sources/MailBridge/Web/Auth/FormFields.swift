// Security: parses attacker-controlled `application/x-www-form-urlencoded` bodies (WHATWG URL §5.1). Bounded: the
// caller limits the body size; at most 100 fields are kept; a field that does not decode is dropped.

import Foundation

/// The fields of an urlencoded form body.
struct FormFields {
    static let maximumFields = 100
    private(set) var values: [String: String] = [:]
    /// Whether the body had more than ``maximumFields`` fields (the rest were dropped): a form whose every field
    /// counts (a set of checkboxes) must be refused then, not taken in part.
    private(set) var isTruncated = false

    init(_ body: String) {
        let pairs = body.split(separator: "&", omittingEmptySubsequences: true)
        isTruncated = pairs.count > Self.maximumFields
        for pair in pairs.prefix(Self.maximumFields) {
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
