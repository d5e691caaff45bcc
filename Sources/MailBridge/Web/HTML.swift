// Security: the one place where text becomes HTML (inbox and login pages). Every interpolated `String` is
// escaped (`& < > " '`), so it is inert in element content and in quoted attribute values; only `HTML` values
// (built the same way) pass through unescaped. There is deliberately no generic interpolation: IDs, dates and
// other values must be turned into a `String` on purpose, and mail content can only ever arrive here as an
// escaped `String`.

/// A fragment of HTML built from trusted literals and escaped values.
///
/// ```swift
/// let cell: HTML = "<td>\(untrustedName)</td>"    // untrustedName is escaped
/// let row: HTML = "<tr>\(cell)</tr>"               // HTML values are inserted as they are
/// ```
struct HTML: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup.
    private(set) var rendered: String

    init(stringLiteral value: String) { rendered = value }
    init(stringInterpolation: StringInterpolation) { rendered = stringInterpolation.output }
    private init(rendered: String) { self.rendered = rendered }

    /// Nothing.
    static let empty = HTML(rendered: "")

    /// Concatenates fragments.
    init(joining parts: [HTML]) { rendered = parts.map(\.rendered).joined() }

    struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var output = ""
        init(literalCapacity: Int, interpolationCount: Int) { output.reserveCapacity(literalCapacity * 2) }
        mutating func appendLiteral(_ literal: String) { output += literal }
        /// Untrusted (or any) text: escaped.
        mutating func appendInterpolation(_ text: String) { output += HTML.escape(text) }
        /// Markup built by this type.
        mutating func appendInterpolation(_ html: HTML) { output += html.rendered }
        /// Several fragments.
        mutating func appendInterpolation(_ list: [HTML]) { for html in list { output += html.rendered } }
        mutating func appendInterpolation(_ number: Int) { output += String(number) }
    }

    /// Escapes the five characters that matter in HTML text and quoted attributes (HTML Living Standard
    /// §13.1.2.6, §13.1.3; OWASP XSS Prevention rules 1 and 2 for quoted attributes).
    static func escape(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\u{0}": result += "\u{FFFD}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    var description: String { rendered }
}
