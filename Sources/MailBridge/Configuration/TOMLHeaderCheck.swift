// Security: reads the configuration text (written by an administrator, but re-read on every SIGHUP by the running
// daemon) before toml++ sees it. Pure and linear; never fails, only finds.

/// Finds a table header without a name (`[=`, `[#`, `[[[`, `[` at the end of a line), which toml++ 3 as bundled
/// in TOMLKit 0.6.0 cannot refuse safely: `parse_table_header()` hands it to `parse_key()`, whose precondition
/// `TOML_ASSERT_ASSUME(is_bare_key_character(*cp) || is_string_delimiter(*cp))` then aborts the process in a
/// debug build and is undefined behaviour (`__builtin_assume`) with NDEBUG. Found by `FuzzConfiguration`; fixed
/// upstream in toml++ (marzer/tomlplusplus#301). The loader reports such a header as a syntax error instead.
///
/// ```swift
/// TOMLHeaderCheck.firstNamelessHeader(in: "[data]\n[= 1\n")   // (line: 2, column: 2)
/// TOMLHeaderCheck.firstNamelessHeader(in: "a = [[1], [2]]\n")  // nil: arrays in values are not headers
/// ```
///
/// It follows toml++'s root loop: a header is a `[` where a key could start (after a line break outside any
/// string, array or inline table), then spaces or tabs, an optional second `[` and spaces or tabs; the next
/// character must start a key (`A-Z a-z 0-9 _ -`, `"` or `'`), close the header (`]`, which toml++ refuses
/// properly) or be the end of the text.
enum TOMLHeaderCheck {
    /// The 1-based line and column of the first character after the brackets of the first nameless header.
    static func firstNamelessHeader(in text: String) -> (line: Int, column: Int)? {
        let bytes = Array(text.utf8)
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // toml++ skips a UTF-8 byte order mark
        var line = 1
        var lineStart = 0
        var atStatementStart = true
        var inValue = false
        var depth = 0  // `[` and `{` open inside the current value

        func skipBlanks(_ position: inout Int) {
            while position < bytes.count, bytes[position] == .space || bytes[position] == .tab { position += 1 }
        }

        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case .lineFeed:
                line += 1
                lineStart = index + 1
                if depth == 0 {
                    inValue = false
                    atStatementStart = true
                }
                index += 1
            case .space, .tab, .carriageReturn:
                index += 1
            case .hash:
                while index < bytes.count, bytes[index] != .lineFeed { index += 1 }
            case .quote, .apostrophe:
                index = endOfString(bytes, from: index, line: &line, lineStart: &lineStart)
                atStatementStart = false
            case .openBracket where atStatementStart && !inValue:
                var next = index + 1
                skipBlanks(&next)
                if next < bytes.count, bytes[next] == .openBracket {
                    next += 1
                    skipBlanks(&next)
                }
                if next < bytes.count, !startsKeyOrClosesHeader(bytes[next]) {
                    return (line, next - lineStart + 1)
                }
                atStatementStart = false
                index += 1
            case .equals where !inValue && depth == 0:
                inValue = true
                atStatementStart = false
                index += 1
            case .openBracket, .openBrace:
                if inValue { depth += 1 }
                atStatementStart = false
                index += 1
            case .closeBracket, .closeBrace:
                if inValue, depth > 0 { depth -= 1 }
                atStatementStart = false
                index += 1
            default:
                atStatementStart = false
                index += 1
            }
        }
        return nil
    }

    /// `A-Z a-z 0-9 _ -` (TOML 1.0 bare keys), a quote, or the `]` of an empty header.
    private static func startsKeyOrClosesHeader(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
            .quote, .apostrophe, .closeBracket:
            true
        default:
            false
        }
    }

    /// The index after the string starting at `start` (basic or literal, single- or multi-line, TOML 1.0 §String);
    /// a single-line string also ends at a line break (toml++ refuses it there).
    private static func endOfString(_ bytes: [UInt8], from start: Int, line: inout Int, lineStart: inout Int) -> Int {
        let quote = bytes[start]
        let multiLine = start + 2 < bytes.count && bytes[start + 1] == quote && bytes[start + 2] == quote
        var index = start + (multiLine ? 3 : 1)
        while index < bytes.count {
            let byte = bytes[index]
            if byte == .backslash, quote == .quote {
                index += 2
                continue
            }
            if byte == .lineFeed {
                if !multiLine { return index }
                line += 1
                lineStart = index + 1
            }
            if byte == quote {
                if !multiLine { return index + 1 }
                if index + 2 < bytes.count, bytes[index + 1] == quote, bytes[index + 2] == quote {
                    // Up to two more quotes may close the string's content (TOML 1.0: `""""""` ends in `"`).
                    var end = index + 3
                    while end < bytes.count, end < index + 5, bytes[end] == quote { end += 1 }
                    return end
                }
            }
            index += 1
        }
        return index
    }
}

extension UInt8 {
    fileprivate static let tab = UInt8(ascii: "\t")
    fileprivate static let lineFeed = UInt8(ascii: "\n")
    fileprivate static let carriageReturn = UInt8(ascii: "\r")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let apostrophe = UInt8(ascii: "'")
    fileprivate static let hash = UInt8(ascii: "#")
    fileprivate static let equals = UInt8(ascii: "=")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let closeBracket = UInt8(ascii: "]")
    fileprivate static let openBrace = UInt8(ascii: "{")
    fileprivate static let closeBrace = UInt8(ascii: "}")
}
