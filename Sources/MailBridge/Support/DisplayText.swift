// Security: cleans attacker-written text (subjects, file names, signer user IDs, bodies) before it is shown next
// to text the gateway writes: the inbox's page chrome, API fields a platform shows beside the message, and the
// header lines of `mailbridge thread show`. Controls (CR, LF, ESC and the C1 range, so no new line and no
// terminal escape sequence) and bidirectional controls (U+202A–U+202E, U+2066–U+2069, which reorder what
// follows them on screen) never pass. Pure; nothing here logs.

/// Text made fit to stand beside text the gateway writes.
///
/// ```swift
/// DisplayText.line("Re: Hilfe\r\n--- inbound")   // "Re: Hilfe\u{FFFD}\u{FFFD}--- inbound": one line
/// DisplayText.lines("a\r\nb\u{202E}c")           // ["a", "b\u{FFFD}c"]
/// ```
enum DisplayText {
    /// What stands in for a character that is not shown.
    static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// One line: controls (Unicode category Cc: C0 including TAB, CR and LF, DEL, C1), invisible formatting
    /// characters (category Cf: bidirectional embeddings, overrides, isolates and marks, zero-width characters)
    /// and the line and paragraph separators U+2028/U+2029 each become U+FFFD. At most `limit` Unicode scalars;
    /// a longer text is cut and ends in "…".
    static func line(_ text: String, limit: Int = .max) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else {
                result += "…"
                break
            }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: result.unicodeScalars.append(replacement)
            default: result.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return result
    }

    /// The lines of a text block: CRLF, CR and LF end lines; TAB stays; every other control, the bidirectional
    /// controls (Unicode Bidi_Control: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and U+2028/U+2029
    /// become U+FFFD. Other formatting characters (such as the zero-width joiner inside emoji) stay, as they cannot
    /// move text out of its line. A final line end does not start another line; an empty text is no lines.
    static func lines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = ""
        var previousCR = false
        for scalar in text.unicodeScalars {
            defer { previousCR = scalar == "\r" }
            switch scalar {
            case "\r":
                lines.append(current)
                current = ""
            case "\n":
                if !previousCR { lines.append(current) }
                current = ""
            case "\t":
                current.unicodeScalars.append(scalar)
            default:
                let category = scalar.properties.generalCategory
                if category == .control || category == .lineSeparator || category == .paragraphSeparator
                    || scalar.properties.isBidiControl
                {
                    current.unicodeScalars.append(replacement)
                } else {
                    current.unicodeScalars.append(scalar)
                }
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// A fingerprint in groups of four characters separated by spaces (`ABCD 1234 …`), as `gpg --fingerprint`
    /// and most key tools print it, so that it can be read out and compared; cleaned like ``line(_:limit:)``.
    static func groupedFingerprint(_ hex: String) -> String {
        let characters = Array(line(hex, limit: 64).uppercased())
        return stride(from: 0, to: characters.count, by: 4)
            .map { String(characters[$0..<min($0 + 4, characters.count)]) }
            .joined(separator: " ")
    }
}
